"""Template helpers: local time, labels, navigation by role, page-or-fragment rendering."""
from __future__ import annotations

from datetime import date, datetime

from flask import render_template
from flask_babel import format_date, format_datetime
from flask_login import current_user
from jinja2_fragments.flask import render_block

from portal.core.enums import (Channel, CloseReason, ContactMethod, DepartmentKey, MaintenanceStatus, Role, State,
                                TicketType)
from portal.core.htmx import is_fragment_request
from portal.core.kernel import can, kernel, navigation
from portal.core.timeutil import format_local, to_local, utcnow



def render_page(template: str, block: str | None = None, **ctx):
    """The whole page, or only `block` of it for an htmx partial request — same markup."""
    if block and is_fragment_request():
        return render_block(template, block, **ctx)
    return render_template(template, **ctx)


def local_dt(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    if value is None:
        return ""
    return format_local(value, fmt) or format_datetime(to_local(value), fmt, rebase=False)


def local_date(value: date | None, fmt: str = "yyyy-MM-dd") -> str:
    if value is None:
        return ""
    return format_date(value, fmt)


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
        "maintenance": MaintenanceStatus, "role": Role, "department": DepartmentKey,
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

    app.jinja_env.filters.update(kernel.template_filters)  # what the areas offer every template
    app.jinja_env.globals.update(kernel.template_globals)
    app.jinja_env.globals["can"] = can
    app.jinja_env.filters["iso_local"] = lambda v: local_dt(datetime.fromisoformat(v)) if v else ""

    app.jinja_env.globals["time_left"] = time_left

    @app.context_processor
    def _ctx():
        nav = [(e.endpoint, e.title) for e in navigation(current_user)] if current_user else []
        from flask_babel import get_locale

        locale = get_locale()
        colon = "：" if locale is not None and locale.language == "zh" else ": "
        return {"nav": nav, "now_utc": utcnow(), "Role": Role, "State": State, "colon": colon}
