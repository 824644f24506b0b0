"""Template helpers: local time, labels, navigation by role, page-or-fragment rendering."""
from __future__ import annotations

from datetime import date, datetime

from flask import render_template
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from portal.complaints import NAV_TITLE as COMPLAINTS_TITLE
from portal.core.enums import Channel, CloseReason, ContactMethod, MaintenanceStatus, Role, State, TicketType
from portal.core.htmx import is_fragment_request
from portal.metrics import NAV_TITLE as METRICS_TITLE
from portal.core.timeutil import utcnow

# Navigation: (endpoint, title, roles that see it; None = everyone signed in)
NAV = [
    ("queues.home", _l("My work"), None),
    ("tickets.new", _l("Register problem"), {Role.CS}),
    ("tickets.index", _l("Tickets"), None),
    ("hotline.index", _l("Hotline records"), {Role.CS}),
    ("hotline.roster.index", _l("Duty roster"), {Role.CS}),
    ("service_plan.index", _l("Service plan"), {Role.CS, Role.MARKET, Role.MARKET_MANAGER, Role.ADMIN}),
    ("customers.index", _l("Customers"), {Role.CS, Role.MARKET, Role.MARKET_MANAGER, Role.DEV_MANAGER,
                                            Role.IMPL_MANAGER, Role.ADMIN}),
    ("handover.index", _l("Handover"), {Role.CS, Role.MARKET, Role.MARKET_MANAGER, Role.ADMIN}),
    ("documents.index", _l("Archive"), {Role.CS, Role.MARKET, Role.MARKET_MANAGER, Role.ADMIN}),
    ("metrics.index", METRICS_TITLE, {Role.DEV_MANAGER, Role.IMPL_MANAGER, Role.MARKET_MANAGER, Role.ADMIN}),
    ("complaints.index", COMPLAINTS_TITLE, {Role.CS, Role.MARKET, Role.MARKET_MANAGER, Role.DEV_MANAGER,
                                            Role.IMPL_MANAGER, Role.ADMIN}),
    ("admin.users", _l("Users"), {Role.ADMIN}),
]


def render_page(template: str, block: str | None = None, **ctx):
    """The whole page, or only `block` of it for an htmx partial request — same markup."""
    if block and is_fragment_request():
        return render_block(template, block, **ctx)
    return render_template(template, **ctx)


def local_dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    from portal.core.timeutil import format_local, to_local

    return format_local(value, fmt) or format_datetime(to_local(value), fmt, rebase=False)


def local_date(value: date | None, fmt: str = "yyyy-MM-dd") -> str:
    if value is None:
        return ""
    return format_date(value, fmt)


LINK_TITLES = {
    "follow_up": _l("Follow-up of"), "follow_up_reverse": _l("Follow-up problem"),
    "duplicate_of": _l("Duplicate of"), "duplicate_of_reverse": _l("Duplicate registered as"),
}


def time_left(deadline: datetime) -> str:
    from flask_babel import format_timedelta
    from flask_babel import gettext as _

    delta = deadline - utcnow()
    if delta.total_seconds() >= 0:
        return _("%(t)s left", t=format_timedelta(delta, threshold=1.1))
    return _("overdue by %(t)s", t=format_timedelta(-delta, threshold=1.1))


def init_app(app) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["local_dt"] = local_dt
    app.jinja_env.filters["local_date"] = local_date

    labels = {
        "state": State, "type": TicketType, "channel": Channel, "close_reason": CloseReason,
        "maintenance": MaintenanceStatus, "role": Role,
    }

    def label(kind: str, value) -> str:
        if value is None or value == "":
            return ""
        try:
            return str(labels[kind](value).title)
        except (KeyError, ValueError):
            return str(value)

    app.jinja_env.globals["label"] = label
    labels["method"] = ContactMethod

    from portal.tickets.access import mask_name, mask_phone

    app.jinja_env.filters["mask_name"] = mask_name
    app.jinja_env.filters["mask_phone"] = mask_phone
    app.jinja_env.filters["iso_local"] = lambda v: local_dt(datetime.fromisoformat(v)) if v else ""

    def action_title(key: str) -> str:
        from portal.tickets.workflow import ACTIONS

        if key == "register":
            return str(_l("Registered"))
        action = ACTIONS.get(key)
        return str(action.title) if action else key

    def link_title(kind: str) -> str:
        return str(LINK_TITLES.get(kind, kind))

    app.jinja_env.globals["action_title"] = action_title
    app.jinja_env.globals["link_title"] = link_title
    app.jinja_env.globals["time_left"] = time_left

    @app.context_processor
    def _ctx():
        nav = []
        if current_user and getattr(current_user, "is_authenticated", False):
            mine = current_user.roles
            nav = [(ep, title) for ep, title, roles in NAV if roles is None or mine & roles]
        from flask_babel import get_locale

        locale = get_locale()
        colon = "：" if locale is not None and locale.language == "zh" else ": "
        return {"nav": nav, "now_utc": utcnow(), "Role": Role, "State": State, "colon": colon}
