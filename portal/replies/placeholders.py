"""The placeholders a reply may hold ({客户}, {期限} …) and their filling from a ticket.

A plain substitution, never a template engine: the text is the user's, so `{客户}` is replaced by the unit's
name and nothing else in it is interpreted. A placeholder that is unknown, or known but without a value here
(no ticket, no deadline yet), stays as typed so the clerk sees what is missing. The result is plain text:
whoever shows it escapes it (Jinja's autoescape; the picker inserts it with setRangeText).
"""
from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from portal.core.timeutil import to_local, today_local
from portal.tickets.access import mask_name

PLACEHOLDER = re.compile(r"\{([^{}\s]{1,20})\}")

# name → what it stands for (shown beside the form, in this order)
KNOWN = {
    "客户": _l("the customer unit's name"),
    "联系人": _l("the contact who reported the problem"),
    "单号": _l("the ticket number"),
    "期限": _l("the promised deadline (local time)"),
    "工程师": _l("the engineer in charge"),
    "摘要": _l("the problem's summary"),
    "日期": _l("today's date"),
}


def unknown_placeholders(text: str) -> list[str]:
    """The placeholders of `text` that are not in KNOWN, each once, in the order they appear."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in KNOWN and name not in seen:
            seen.append(name)
    return seen


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def chinese_datetime(dt: datetime) -> str:
    """Naive UTC → Shanghai wall-clock, e.g. 2026年12月8日 17:00."""
    local = to_local(dt)
    return f"{chinese_date(local.date())} {local:%H:%M}"


def values_for(ticket=None, *, masked: bool = False) -> dict[str, str]:
    """What each placeholder stands for on this ticket (only those that have a value). `masked`: the reader
    sees the ticket for reference only, so the reporter's name is masked as on the ticket page."""
    values = {"日期": chinese_date(today_local())}
    if ticket is None:
        return values
    values["客户"] = ticket.customer.name
    values["单号"] = ticket.number or ""
    values["摘要"] = ticket.summary
    name = ticket.reporter_name or ""
    values["联系人"] = mask_name(name) if masked else name
    if ticket.deadline is not None:
        values["期限"] = chinese_datetime(ticket.deadline)
    if ticket.assignee is not None:
        values["工程师"] = ticket.assignee.display_name
    return {k: v for k, v in values.items() if v}


def fill(text: str, values: dict[str, str]) -> str:
    """`text` with every placeholder that has a value replaced by it; the others left as they are."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text or "")
