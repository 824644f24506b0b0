"""The kernel the areas plug into: what every area shares and nobody should copy.

- **Permissions** are names ("archive.view"). An area declares the permissions it checks; a department's
  desk (portal/desks/) grants them to its roles. The role → permission table is the union of the desks'
  grants (a role is granted in exactly one desk), so "who may do X" has one answer.
- **`@requires("archive.view")`** guards a view (or `guard_blueprint(bp, …)` a whole blueprint). The
  guard is recorded on the view, and the navigation is derived from it: a menu entry is shown to exactly
  the users its page admits, so a menu item and a 403 can never disagree.
- **Reminder and notice kinds** (key, title, who gets it, the page it links to, how it is settled, its
  cadence) are declared by the area they belong to and rendered generically by notifications.
- **Service-level clocks** (the standard's promises: "someone on site within 24 hours") are declared by the
  area whose work starts and stops them; portal/sla keeps every running clock, reminds before it breaches,
  escalates when it does, and the dashboard measures the share kept.
- **Listeners**: an area announces that something happened ("document_ready") without knowing who cares;
  another area listens. Events are dispatched in the caller's transaction.
- **Template helpers** an area offers to every template (filters, globals), so the kernel's templating
  needs no area.

`portal/core` imports no area. The app factory plugs every area and desk in (`portal/areas.py`).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable, Iterable

from flask import Blueprint, abort, current_app
from flask_login import current_user, login_required

from portal.core.enums import Role


@dataclass(frozen=True)
class Permission:
    key: str  # "<area>.<verb>", e.g. "archive.view"
    title: Any  # lazy gettext


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    title: Any
    order: int  # position in the menu (10, 20, …)


@dataclass(frozen=True)
class Kind:
    """A kind of reminder (something due: opened by a sweep or a workflow step, settled by a record)
    or of notice (something that happened: a workflow event, a complaint step)."""

    key: str
    title: Any
    recipients: Any = None  # who gets it (text for people and docs; the code that opens it sets the role)
    settled_by: Any = None  # reminders: the record that settles it
    cadence: str | None = None  # reminders that recur: the policy cadence that drives them
    link: Callable[[Any], str] | None = None  # reminders: (reminder row) → the page to act on, relative URL
    # reminders seen long before they are due (a contract's whole expiry window): the Policy field giving how
    # many days ahead of its due date the notifications page lists it (else the page's default look-ahead)
    shown_ahead_days: str | None = None


@dataclass(frozen=True)
class Clock:
    """A promise with a time limit. It starts when something happens (the customer asked; on-site was found
    necessary) and stops when the promise is kept (first assignment; arrival). Its limit is one field of the
    service-level policy in force for the customer's maintenance level when the clock started, so a later
    policy change never moves it."""

    key: str  # "onsite_24h"
    title: Any  # lazy gettext: what the clerk reads ("24-hour on-site")
    limit: str  # the Policy field that holds the limit ("onsite_within_hours")
    unit: str = "hours"  # "hours" | "working_days"
    remind_before: float = 0.25  # a reminder when this share of the limit is left
    owner: Any = None  # text: who must keep it
    escalate: Any = None  # text: the manager told when it breaches


@dataclass(frozen=True)
class Desk:
    """One department: its roles, what they may do, their work queues and the reminders they act on."""

    key: str
    title: Any
    grants: dict[Role, frozenset[str]]
    queues: tuple = ()
    reminder_kinds: tuple[str, ...] = ()


@dataclass
class Area:
    """What an area plugs into the kernel at start-up."""

    key: str
    permissions: Iterable[Permission] = ()
    nav: Iterable[NavEntry] = ()
    kinds: Iterable[Kind] = ()
    clocks: Iterable[Clock] = ()
    listeners: dict[str, Callable] = field(default_factory=dict)
    template_filters: dict[str, Callable] = field(default_factory=dict)
    template_globals: dict[str, Callable] = field(default_factory=dict)
    init_app: Callable | None = None  # anything the area must attach to each app (e.g. the user loader)


class KernelError(RuntimeError):
    """A declaration that contradicts another (found at start-up, never at a user's click)."""


class Kernel:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.permissions: dict[str, Permission] = {}
        self.grants: dict[Role, frozenset[str]] = {}
        self.desks: dict[str, Desk] = {}
        self.nav: list[NavEntry] = []
        self.kinds: dict[str, Kind] = {}
        self.clocks: dict[str, Clock] = {}
        self.listeners: dict[str, list[Callable]] = defaultdict(list)
        self.template_filters: dict[str, Callable] = {}
        self.template_globals: dict[str, Callable] = {}
        self.areas: list[str] = []

    # --- plugging in ---------------------------------------------------------------------------------
    def plug(self, area: Area) -> None:
        if area.key in self.areas:
            return  # the app factory runs once per app; declarations are the same each time
        self.areas.append(area.key)
        for p in area.permissions:
            if p.key in self.permissions:
                raise KernelError(f"permission {p.key} declared twice")
            self.permissions[p.key] = p
        self.nav.extend(area.nav)
        self.nav.sort(key=lambda e: e.order)
        for k in area.kinds:
            if k.key in self.kinds:
                raise KernelError(f"kind {k.key} declared twice")
            self.kinds[k.key] = k
        for c in area.clocks:
            if c.key in self.clocks:
                raise KernelError(f"clock {c.key} declared twice")
            if c.unit not in ("hours", "working_days"):
                raise KernelError(f"clock {c.key}: unit {c.unit!r} is neither hours nor working_days")
            self.clocks[c.key] = c
        for event, fn in area.listeners.items():
            self.listeners[event].append(fn)
        for name, fn in area.template_filters.items():
            self.template_filters[name] = fn
        for name, fn in area.template_globals.items():
            self.template_globals[name] = fn

    def seat(self, desk: Desk) -> None:
        if desk.key in self.desks:
            return
        for role, perms in desk.grants.items():
            if role in self.grants:
                raise KernelError(f"role {role.value} is granted in two desks")
            unknown = set(perms) - set(self.permissions)
            if unknown:
                raise KernelError(f"desk {desk.key} grants undeclared permissions {sorted(unknown)}")
            self.grants[role] = frozenset(perms)
        unknown_kinds = set(desk.reminder_kinds) - set(self.kinds)
        if unknown_kinds:
            raise KernelError(f"desk {desk.key} names undeclared kinds {sorted(unknown_kinds)}")
        self.desks[desk.key] = desk

    # --- asking ----------------------------------------------------------------------------------------
    def role_permissions(self, roles: Iterable[Role]) -> frozenset[str]:
        out: set[str] = set()
        for r in roles:
            out |= self.grants.get(r, frozenset())
        return frozenset(out)

    def roles_with(self, permission: str) -> frozenset[Role]:
        """The roles granted `permission` (for queries such as "every active user who may handle complaints")."""
        self._known(permission)
        return frozenset(r for r, perms in self.grants.items() if permission in perms)

    def allows(self, user, permission: str) -> bool:
        self._known(permission)
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        return any(permission in self.grants.get(r, ()) for r in user.roles)

    def desks_granting(self, user, permission: str) -> list[str]:
        """The desks (departments) through which the user holds `permission`: e.g. the department whose
        dashboard a department manager sees."""
        self._known(permission)
        return [d.key for d in self.desks.values()
                if any(permission in d.grants.get(r, ()) for r in user.roles)]

    def kind(self, key: str) -> Kind | None:
        return self.kinds.get(key)

    def clock(self, key: str) -> Clock:
        if key not in self.clocks:
            raise KernelError(f"unknown clock {key}")
        return self.clocks[key]

    def queues(self) -> list:
        """Every desk's queues, in desk order (a queue shared by two desks is declared once, by key)."""
        seen, out = set(), []
        for desk in self.desks.values():
            for q in desk.queues:
                if q.key not in seen:
                    seen.add(q.key)
                    out.append(q)
        return out

    def emit(self, event: str, **payload) -> None:
        for fn in self.listeners.get(event, ()):
            fn(**payload)

    def _known(self, permission: str) -> None:
        if permission not in self.permissions:
            raise KernelError(f"unknown permission {permission}")


kernel = Kernel()


def can(permission: str, user=None) -> bool:
    """May this user (default: the signed-in one) do this?"""
    return kernel.allows(current_user if user is None else user, permission)


def requires(permission: str, *, refuse: int = 403):
    """Guard a view: signed in, and the user's roles grant `permission` (else `refuse`: 403, or 404 where
    to anyone else the thing must not seem to exist). The permission is recorded on the view so the
    navigation shows the page to exactly those users."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not can(permission):
                abort(refuse)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        return login_required(guarded)

    return decorate


def guard_blueprint(bp: Blueprint, permission: str) -> None:
    """Every view of the blueprint (and its nested blueprints) requires `permission`."""
    bp.required_permission = permission

    @bp.before_request
    @login_required
    def _guard():
        if not can(permission):
            abort(403)


def endpoint_permissions(endpoint: str) -> tuple[str, ...]:
    """Every permission that guards `endpoint`: its blueprints' (outermost first) and its view's. The guards
    are fixed once the app is built, so each endpoint is looked up once per app (the menu asks on every page)."""
    cache = current_app.extensions.setdefault("portal_endpoint_permissions", {})
    if endpoint not in cache:
        cache[endpoint] = _endpoint_permissions(endpoint)
    return cache[endpoint]


def _endpoint_permissions(endpoint: str) -> tuple[str, ...]:
    app = current_app
    perms = []
    bp_name = endpoint.rpartition(".")[0]
    parts = bp_name.split(".") if bp_name else []
    for i in range(1, len(parts) + 1):
        bp = app.blueprints.get(".".join(parts[:i]))
        if bp is not None and getattr(bp, "required_permission", None):
            perms.append(bp.required_permission)
    view = app.view_functions.get(endpoint)
    perm = getattr(view, "required_permission", None)
    while perm is None and view is not None and hasattr(view, "__wrapped__"):
        view = view.__wrapped__
        perm = getattr(view, "required_permission", None)
    if perm:
        perms.append(perm)
    return tuple(perms)


def navigation(user) -> list[NavEntry]:
    """The menu for this user: every entry whose page's guards all admit them."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return [e for e in kernel.nav if all(kernel.allows(user, p) for p in endpoint_permissions(e.endpoint))]
