"""The ticket list: allowlisted filters and sorts, keyset pagination, a fixed number of queries per page.

A page is two queries: the ids of the page (filters, visibility, order, limit — answered from an index
where one fits) and then those tickets with what the rows show. With a search (`q`) the ids come from
portal.search, ranked; the page then also shows where each ticket matched, highlighted.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Index, select
from sqlalchemy.orm import defaultload
from werkzeug.datastructures import MultiDict

import portal.search as search_texts
from portal.auth.models import User, UserRole
from portal.core.enums import (
    Channel,
    CloseReason,
    DepartmentKey,
    MaintenanceStatus,
    Role,
    State,
    TicketType,
)
from portal.core.pagination import Key, Keyset
from portal.core.params import (
    BoundedDateField,
    CursorField,
    IdField,
    QueryForm,
    parse_id,
    parse_int,
)
from portal.core.timeutil import from_local, to_local, utcnow
from portal.customers.models import CustomerUnit
from portal.extensions import db
from portal.queues.definitions import BY_KEY
from portal.search import query as search
from portal.search.text import highlight, snippet
from portal.tickets import access, conditions
from portal.tickets.models import Callback, Event, Ticket

PAGE_SIZE = 50
SEARCH_CURSOR = "s"  # search pages continue with "s<tier>.<last id>"

# Indexes the list and the work queues (portal.queues) rely on at a million tickets. SQLite plans these
# queries without statistics (nothing runs ANALYZE on the tickets table), so each index is shaped to be
# the plainly best choice for its query: equality columns first, then the query's ORDER BY — including
# its direction ("urgent first, oldest first" is urgent DESC, id ASC) — so a page stops after its rows.
# Created by migrations 3928cadf3e91 and 7c2e4b19d5a0.
LIST_INDEXES = (
    Index("ix_tickets_state_type", Ticket.state, Ticket.type, Ticket.urgent, Ticket.id),  # state + type filters
    Index("ix_tickets_state_order", Ticket.state, Ticket.urgent.desc(), Ticket.id),  # a state's queue, in order
    Index("ix_tickets_assignee_order", Ticket.assignee_id, Ticket.state, Ticket.urgent.desc(), Ticket.deadline,
          Ticket.id),  # "assigned to me", by deadline
    Index("ix_tickets_assignee_recent", Ticket.assignee_id, Ticket.state, Ticket.urgent.desc(), Ticket.id),  # "resolved by me"
    Index("ix_tickets_deadline_told", Ticket.state, Ticket.deadline_notified_at, Ticket.urgent.desc(), Ticket.id),
    Index("ix_tickets_department_order", Ticket.state, Ticket.handling_department, Ticket.urgent.desc(),
          Ticket.deadline, Ticket.id),  # overdue in development / implementation
    Index("ix_tickets_urgent_state", Ticket.urgent, Ticket.state, Ticket.id),  # urgent counts
    Index("ix_tickets_urgent_scan", Ticket.urgent, Ticket.id, Ticket.state),  # urgent queues: state read from the index
    Index("ix_tickets_created_urgent", Ticket.created_at, Ticket.urgent),  # date filters: page ids from the index
)
# Each sort's order as a keyset (portal.core.pagination): the cursor carries the last row's keys.
SORTS = {
    "urgent": Keyset("tickets.urgent", Key("urgent", Ticket.urgent, bool, descending=True),
                     Key("id", Ticket.id, descending=True)),
    "newest": Keyset("tickets.newest", Key("id", Ticket.id, descending=True)),
    "oldest": Keyset("tickets.oldest", Key("id", Ticket.id)),
    "deadline": Keyset("tickets.deadline", Key("deadline", Ticket.deadline, datetime), Key("id", Ticket.id)),
}


class ListArgs(QueryForm):
    """The list's numeric, date and cursor arguments, parsed the one bounded way (portal.core.params)."""
    customer_id = IdField(_l("Customer unit"))
    assignee_id = IdField(_l("Assignee"))
    date_from = BoundedDateField(_l("Registered from"))
    date_to = BoundedDateField(_l("Registered to"))
    after = CursorField()


@dataclass
class Filters:
    state: list[str] = field(default_factory=list)
    type: str = ""
    channel: str = ""
    customer_id: int | None = None
    assignee_id: int | None = None
    urgent: bool = False
    overdue: bool = False
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    queue: str = ""
    # The dashboard's drill-down filters (portal.metrics.dashboard links here; portal.tickets.conditions
    # says what each means, for the list and for the figures alike):
    department: str = ""  # dev | impl — the handling department
    maintenance: str = ""  # the unit's current maintenance status
    solved: bool = False  # stands resolved
    responded: bool = False  # has been assigned
    deadline: str = ""  # kept | missed
    sort: str = "urgent"
    after: str = ""
    # Arguments given but not understood (their names): the list says it ignored them. Not a filter.
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: MultiDict) -> "Filters":
        states = list(dict.fromkeys(s for s in args.getlist("state") if s in State._value2member_map_))
        t = args.get("type", "")
        channel = args.get("channel", "")
        sort = args.get("sort", "urgent")
        department, maintenance, deadline = (args.get(k, "") for k in ("department", "maintenance", "deadline"))
        parsed = ListArgs(args)
        return cls(
            state=states,
            type=t if t in TicketType._value2member_map_ else "",
            channel=channel if channel in Channel._value2member_map_ else "",
            customer_id=parsed.customer_id.data,
            assignee_id=parsed.assignee_id.data,
            urgent=args.get("urgent") in ("1", "on", "true"),
            overdue=args.get("overdue") in ("1", "on", "true"),
            date_from=parsed.date_from.data,
            date_to=parsed.date_to.data,
            q=(args.get("q") or "").strip()[:100],
            queue=args.get("queue", "") if args.get("queue", "") in _queue_keys() else "",
            department=department if department in conditions.DEPARTMENTS else "",
            maintenance=maintenance if conditions.valid_level(maintenance) else "",
            solved=args.get("solved") in ("1", "on", "true"),
            responded=args.get("responded") in ("1", "on", "true"),
            deadline=deadline if deadline in conditions.DEADLINE_OUTCOMES else "",
            sort=sort if sort in SORTS else "urgent",
            after=parsed.after.data or "",
            ignored=(*parsed.ignored(), *_not_understood(args)),
        )

    def query_args(self, **changes) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "ignored"}
        d.update(changes)
        out = {}
        for k, v in d.items():
            if v in (None, "", False, [], ()):
                continue
            if isinstance(v, bool):
                v = "1"
            if isinstance(v, date):
                v = v.isoformat()
            out[k] = v
        return out


def normal_query(args: MultiDict) -> str:
    """The list's query string as its form reads it (what it ignores dropped, keys in order, no cursor):
    what a saved view stores, so that two spellings of one list are one view."""
    from urllib.parse import urlencode

    f = Filters.from_args(args)
    d = f.query_args(after="")
    if d.get("sort") == Filters.sort:  # the default says nothing
        del d["sort"]
    return urlencode(sorted(d.items()), doseq=True)


ASSIGNEE_CHOICES_MAX = 200


def assignee_choices() -> list[tuple[int, str]]:
    """The people tickets are assigned to (engineers of both departments), for the assignee filter and
    bulk assignment — one query, bounded."""

    return [(i, n) for i, n in db.session.execute(
        select(User.id, User.display_name).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_([Role.ENGINEER.value, Role.IMPL_ENGINEER.value]), User.active.is_(True))
        .distinct().order_by(User.display_name, User.id).limit(ASSIGNEE_CHOICES_MAX))]


def _not_understood(args: MultiDict) -> tuple[str, ...]:
    """The names of the filters given a value the list cannot use (they are ignored, and the page says so)."""
    checks = {  # numbers and dates: ListArgs
        "department": lambda v: v in conditions.DEPARTMENTS, "maintenance": conditions.valid_level,
        "deadline": lambda v: v in conditions.DEADLINE_OUTCOMES,
        "solved": lambda v: v in ("1", "on", "true"), "responded": lambda v: v in ("1", "on", "true"),
        "sort": lambda v: v in SORTS, "type": lambda v: v in TicketType._value2member_map_,
        "channel": lambda v: v in Channel._value2member_map_,
    }
    return tuple(k for k, ok in checks.items() if args.get(k) not in (None, "") and not ok(args.get(k)))


@dataclass
class Page:
    rows: list[tuple[Ticket, bool]]  # (ticket, personal data masked?)
    next_cursor: str | None
    is_first: bool
    marks: dict = field(default_factory=dict)  # search: ticket id → (highlighted title, highlighted snippet)
    ranked: bool = False  # search results, in order of relevance


SORT_TITLES = {"urgent": _l("Urgent first, newest"), "newest": _l("Newest first"), "oldest": _l("Oldest first"),
               "deadline": _l("By deadline")}


def choices(f: "Filters") -> dict:

    return {
        "type_choices": TicketType.choices(),
        "channel_choices": Channel.choices(),
        "assignee_choices": assignee_choices(),
        "sort_choices": list(SORT_TITLES.items()),
        "queue_title": BY_KEY[f.queue].title if f.queue else "",
        "row_labels": row_labels(),
        "search_placeholder": search_texts.PLACEHOLDER,
        "search_ranked_note": search_texts.RANKED_NOTE,
        "chips": chips(f),
        "ignored_titles": [str(FILTER_TITLES[k]) for k in f.ignored],
    }


FILTER_TITLES = {
    "customer_id": _l("Customer unit"), "assignee_id": _l("Assignee"), "date_from": _l("Registered from"),
    "date_to": _l("Registered to"), "department": _l("Department"), "maintenance": _l("Maintenance level"),
    "solved": _l("Solved"), "responded": _l("Assigned"), "deadline": _l("Deadline"),
    "sort": _l("Sort"), "type": _l("Type"), "channel": _l("Channel"),
}
DEADLINE_TITLES = {"kept": _l("kept (resolved by the deadline)"),
                   "missed": _l("missed (resolved late, or open past the deadline)")}


@dataclass
class Chip:
    """A filter the form has no field for (it came with a link, e.g. from the dashboard), shown so the reader
    sees why the list holds what it holds; `without` are the list's arguments with this filter removed."""
    title: str
    value: str
    without: dict


def chips(f: Filters) -> list[Chip]:
    """The unit, assignee and drill-down filters in force, in words (at most two small look-ups)."""

    out = []

    def add(key: str, value: str, cleared) -> None:
        out.append(Chip(str(FILTER_TITLES[key]), value, f.query_args(after="", **{key: cleared})))

    if f.customer_id:
        unit = db.session.get(CustomerUnit, f.customer_id)
        add("customer_id", unit.name if unit else f"#{f.customer_id}", None)
    if f.assignee_id:
        user = db.session.get(User, f.assignee_id)
        add("assignee_id", user.display_name if user else f"#{f.assignee_id}", None)
    if f.department:
        add("department", str(DepartmentKey(f.department).title), "")
    if f.maintenance:
        add("maintenance", str(MaintenanceStatus(f.maintenance).title), "")
    if f.solved:
        add("solved", str(_l("yes (stands resolved now)")), False)
    if f.responded:
        add("responded", str(_l("yes (assigned at least once)")), False)
    if f.deadline:
        add("deadline", str(DEADLINE_TITLES[f.deadline]), "")
    return out


def row_labels() -> dict[str, dict[str, str]]:
    """State, type and closing-reason titles for a whole table, translated once per language and process
    (not once per row: each translation look-up costs tens of microseconds)."""
    from flask_babel import get_locale

    return _row_labels(str(get_locale()))


@functools.lru_cache(maxsize=8)
def _row_labels(locale: str) -> dict[str, dict[str, str]]:
    return {"state": {s.value: str(s.title) for s in State}, "type": {t.value: str(t.title) for t in TicketType},
            "close_reason": {r.value: str(r.title) for r in CloseReason}}


def _queue_keys():

    return BY_KEY


def _filtered(stmt, f: Filters, user: User):
    """The list's filters (everything but the search) and the user's visibility, on a select over Ticket."""
    stmt = access.restrict(stmt, user)
    if f.queue:
        stmt = stmt.where(_queue_keys()[f.queue].where(user))
    if f.state:
        stmt = stmt.where(Ticket.state.in_(f.state))
    if f.type:
        stmt = stmt.where(Ticket.type == f.type)
    if f.channel:
        stmt = stmt.where(Ticket.channel == f.channel)
    if f.customer_id:
        stmt = stmt.where(Ticket.customer_id == f.customer_id)
    if f.assignee_id:
        stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
    if f.urgent:
        stmt = stmt.where(Ticket.urgent.is_(True))
    if f.overdue:
        stmt = stmt.where(Ticket.state == State.ASSIGNED.value, Ticket.deadline < utcnow())
    if f.date_from:
        stmt = stmt.where(Ticket.created_at >= from_local(datetime.combine(f.date_from, datetime.min.time())))
    if f.date_to:
        stmt = stmt.where(Ticket.created_at < from_local(datetime.combine(f.date_to + timedelta(days=1),
                                                                          datetime.min.time())))
    if f.department:
        stmt = stmt.where(conditions.of_department(f.department))
    if f.maintenance:
        stmt = stmt.where(conditions.of_maintenance_level(f.maintenance))
    if f.solved:
        stmt = stmt.where(conditions.solved())
    if f.responded:
        stmt = stmt.where(conditions.responded())
    if f.deadline == "kept":
        stmt = stmt.where(conditions.deadline_kept())
    elif f.deadline == "missed":
        stmt = stmt.where(conditions.deadline_missed())
    return stmt


def _search(f: Filters, user: User):

    unmasked = None if access.sees_everything(user) else ~access.masked_condition(user)
    return search.parse(f.q, unmasked=unmasked)


def base_query(f: Filters, user: User):
    """Every ticket the filters (and the search, unranked) select, as this user may see them."""
    q = _filtered(select(Ticket), f, user)
    if f.q:

        q = q.where(search.condition(_search(f, user)))
    return q


def fetch(f: Filters, user: User, page_size: int = PAGE_SIZE) -> Page:
    if f.q:
        s = _search(f, user)
        if not s.empty:
            return _search_page(f, s, user, page_size)
    q = _filtered(select(Ticket.id), f, user)
    if f.sort == "deadline":  # only tickets that have one
        q = q.where(Ticket.deadline.is_not(None))
    keyset = SORTS[f.sort]
    q, continued = keyset.seek(q, f.after)
    ids = list(db.session.scalars(q.limit(page_size + 1)))
    more = len(ids) > page_size
    rows = _load(ids[:page_size], user)
    next_cursor = keyset.cursor_for(rows[-1][0]) if more and rows else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=not continued)


def _load(ids: list[int], user: User) -> list[tuple[Ticket, bool]]:
    """These tickets, in this order, each with 'personal data masked?' — one query."""
    if not ids:
        return []
    found = {t.id: (t, bool(m)) for t, m in db.session.execute(
        select(Ticket).add_columns(access.masked_condition(user)).where(Ticket.id.in_(ids))
        .options(defaultload(Ticket.assignee).lazyload(User.role_rows))).all()}  # rows show names, not roles
    return [found[i] for i in ids if i in found]


def _search_cursor(after: str) -> tuple[int, int | None]:
    """"s<tier>.<last id>" → (tier index, last id); anything else starts from the top."""
    try:
        tier, last = after[len(SEARCH_CURSOR):].split(".", 1)
    except (ValueError, AttributeError):
        return 0, None
    tier_n, last_id = parse_int(tier, 0, 100), parse_id(last)
    return (tier_n, last_id) if tier_n is not None and last_id is not None else (0, None)


def _search_page(f: Filters, s, user: User, page_size: int) -> Page:

    tiers = search.tiers(s)
    start, last_id = _search_cursor(f.after) if f.after.startswith(SEARCH_CURSOR) else (0, None)
    found: list[tuple[int, int]] = []  # (tier index, id)
    for n in range(start, len(tiers)):
        want = page_size + 1 - len(found)
        ids = search.tier_ids(s, tiers[n], lambda stmt: _filtered(stmt, f, user),
                              last_id if n == start else None, want)
        found += [(n, i) for i in ids]
        if len(found) > page_size:
            break
    more = len(found) > page_size
    found = found[:page_size]
    rows = _load([i for _, i in found], user)
    next_cursor = f"{SEARCH_CURSOR}{found[-1][0]}.{found[-1][1]}" if more and found else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=not f.after, marks=_marks(rows, s.words),
                ranked=True)


def _marks(rows: list[tuple[Ticket, bool]], words: tuple[str, ...]) -> dict[int, tuple[Markup, Markup | None]]:
    """Each row's title with the query's words highlighted, and where in the rest of the ticket they occur
    (two queries for all rows: comments and callback notes)."""

    if not rows or not words:
        return {}
    ids = [t.id for t, _ in rows]
    notes: dict[int, list[str]] = {}
    for tid, note in db.session.execute(select(Event.ticket_id, Event.text).where(
            Event.ticket_id.in_(ids), Event.action == "comment").order_by(Event.id)):
        notes.setdefault(tid, []).append(note)
    for tid, note in db.session.execute(select(Callback.ticket_id, Callback.outcome).where(
            Callback.ticket_id.in_(ids)).order_by(Callback.id)):
        notes.setdefault(tid, []).append(note)
    out = {}
    for t, masked in rows:
        if masked:
            title = f"{access.mask_name(t.reporter_name)} / {t.reporter_dept} / {access.mask_phone(t.reporter_phone)} / {t.summary}"
        else:
            title = t.title
        body = [t.description, t.result, t.process, *notes.get(t.id, ())]
        out[t.id] = (highlight(title, words), snippet(body, words))
    return out




JUMP_FIRST_YEAR = 2000


def find_by_number(raw: str, user: User) -> Ticket | None:
    """The ticket a jump box means, if this user may see it: a whole number (SH-2026-000017, any case),
    or its digits (17 → SH-<this year>-000017, else that serial in any year when only one has it).
    A ticket the user may not see is not found, like a missing one."""
    import re


    text = (raw or "").strip().upper()[:30]
    if re.fullmatch(r"SH-\d{4}-\d{1,12}", text):
        return db.session.scalar(access.restrict(select(Ticket).where(Ticket.number == text), user))
    digits = text.removeprefix("SH").strip("-")
    if not re.fullmatch(r"\d{1,12}", digits) or int(digits) == 0:
        return None
    serial = f"{int(digits):06d}"
    year = to_local(utcnow()).year
    this_year = f"SH-{year}-{serial}"
    # Equality on the unique number for each year the portal can have numbered (an index look-up each;
    # a LIKE on the number's tail would scan a million rows).
    candidates = [f"SH-{y}-{serial}" for y in range(JUMP_FIRST_YEAR, year + 2)]
    found = list(db.session.scalars(access.restrict(
        select(Ticket).where(Ticket.number.in_(candidates)), user).order_by(Ticket.id).limit(2)))
    exact = [t for t in found if t.number == this_year]
    if exact:
        return exact[0]
    return found[0] if len(found) == 1 else None
