"""Service-level policy (SPEC §4, the standard's numbers) — the one configurable place.

The defaults can be overridden by an environment variable POLICY_<NAME> (e.g.
POLICY_CONTRACT_EXPIRY_WINDOW_DAYS=60); administrators then set each number in the portal (/admin/policy),
per maintenance level where it differs by level, every change recorded (portal/core/policy_store.py).

Which function to call:
- a ticket is judged by `ticket_policy(ticket)`: the limits in force when it was registered;
- a customer's numbers (a letter, a new clock) by `policy_for(unit.maintenance_status)`;
- a company-wide number (the roster, the dashboard's targets, the contract window) by `policy_for(None)`;
- `policy()` is only the defaults, for the policy page and the store.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields, replace
from datetime import date, time, timedelta
from typing import Any

import chinese_calendar
from flask_babel import lazy_gettext as _l

from portal.core import policy_store
from portal.core import workcalendar
from portal.core.enums import MaintenanceStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    emergency_response_hours: int = 2        # urgent tickets: someone responds within 2 hours
    onsite_within_hours: int = 24            # problems the phone cannot solve: on site within 24 hours
    first_reply_working_days: int = 3        # a first reply within 3 working days (Chinese calendar)
    satisfaction_target: float = 0.85        # share of callbacks scoring 4–5
    resolution_rate_target: float = 0.90     # dashboard: solved / raised
    deadline_kept_target: float = 0.90       # dashboard: resolved by the promised deadline
    plan_completion_target: float = 0.95     # dashboard: monthly callbacks and visits done as the service plan asks
    tell_deadline_within_hours: int = 4      # after an assignment 客服 tells the customer the deadline
    callback_within_hours: int = 24          # after a resolution 客服 calls the customer back
    overdue_escalate_hours: int = 24         # past the deadline this long → the assignee's manager too
    contract_expiry_window_days: int = 90    # contracts ending within this window → 维护到期通知函 + 市场部
    duty_roster_lead_hours: int = 12         # the roster must be set half a day ahead
    hotline_seats_per_mille: float = 2.0     # 2‰ of the customers' users, rounded up
    shift_am_start: time = time(8, 30)
    shift_am_end: time = time(12, 0)
    shift_pm_start: time = time(13, 30)
    shift_pm_end: time = time(17, 30)
    summary_due_days: int = 15               # a maintenance summary is due this long after its period ends
    check_in_grace_minutes: int = 10         # a duty shift's staff not checked in this long after it starts
    follow_up_score: int = 2                 # a callback scored this or lower is followed up by the managers
    clock_kept_target: float = 1.0           # dashboard: share of each time promise kept (a field <clock key>_target
                                             # added here would set one promise's own target)
    kb_review_days: int = 180                # a published knowledge article not reviewed this long is stale


@dataclass(frozen=True)
class LevelCadence:
    """How often the service plan (售后服务要求) asks for each contact at one maintenance level, as a
    calendar period ("month", "quarter", "year"); None / () where the level asks for none."""

    callback: str | None        # the phone callback
    visit: str | None           # the on-site visit
    summaries: tuple[str, ...]  # the maintenance summaries (each covers a finished period)


# The one cadence table: the service-plan sweep, the service-plan page, the summaries and the letters read it.
CADENCE: dict[MaintenanceStatus, LevelCadence] = {
    MaintenanceStatus.VIP: LevelCadence(callback="month", visit="month", summaries=("quarter", "year")),
    MaintenanceStatus.ORDINARY: LevelCadence(callback="month", visit="quarter", summaries=("year",)),
    MaintenanceStatus.STOPPED: LevelCadence(callback=None, visit=None, summaries=()),
}


def cadence(level: str | MaintenanceStatus) -> LevelCadence:
    return CADENCE[MaintenanceStatus(level)]


def _parse(kind, raw: str):
    if kind is time or kind == "time":
        h, m = raw.split(":")
        return time(int(h), int(m))
    if kind in (int, "int"):
        return int(raw)
    if kind in (float, "float"):
        return float(raw)
    return raw


def policy() -> Policy:
    """The defaults: the standard's numbers, overridden by the environment (POLICY_<NAME>)."""
    values = {}
    for f in fields(Policy):
        raw = os.environ.get("POLICY_" + f.name.upper())
        if raw:
            values[f.name] = _parse(f.type, raw)
    return Policy(**values)


def policy_for(level: str | MaintenanceStatus | None) -> Policy:
    """The policy in force now for one maintenance level (None: the company-wide values).

    The defaults (`policy()`), with the values an administrator stored in the portal over them
    (portal/core/policy_store.py): a company-wide field takes its one stored value, a per-level field
    (RULES[name].per_level) the value stored for `level`."""
    stored = policy_store.stored_values()
    if not stored:
        return policy()
    key = MaintenanceStatus(level).value if level else None
    values = {}
    for f in fields(Policy):
        scope = key if RULES[f.name].per_level else COMPANY
        raw = stored.get((scope, f.name)) if scope else None
        if raw is not None:
            try:
                values[f.name] = _parse(f.type, raw)
            except (TypeError, ValueError):
                log.warning("stored policy value %s=%r for %s cannot be read; the default applies", f.name, raw,
                            scope)
    return replace(policy(), **values)


# --- What each number is, for the page that edits it ----------------------------------------
COMPANY = "all"  # the level under which a company-wide value is stored


@dataclass(frozen=True)
class Rule:
    """One policy number: its label, its unit, whether it differs by maintenance level, and the range
    a sensible value lies in (both ends inclusive, in the unit shown to the administrator)."""

    label: Any
    unit: str  # hours | working_days | days | percent | per_mille | time
    per_level: bool = False
    low: float | None = None
    high: float | None = None


MAX_HOURS = 720  # a month: beyond that a limit in hours is a typing mistake
RULES: dict[str, Rule] = {
    "emergency_response_hours": Rule(_l("Emergency response"), "hours", True, 1, MAX_HOURS),
    "onsite_within_hours": Rule(_l("On site within"), "hours", True, 1, MAX_HOURS),
    "first_reply_working_days": Rule(_l("First reply within"), "working_days", True, 1, 60),
    "tell_deadline_within_hours": Rule(_l("Tell the customer the deadline within"), "hours", True, 1, MAX_HOURS),
    "callback_within_hours": Rule(_l("Callback after resolution within"), "hours", True, 1, MAX_HOURS),
    "overdue_escalate_hours": Rule(_l("Overdue: the manager is told after"), "hours", True, 1, MAX_HOURS),
    "satisfaction_target": Rule(_l("Satisfaction target (above)"), "percent", False, 0, 100),
    "resolution_rate_target": Rule(_l("Resolution rate target"), "percent", False, 0, 100),
    "deadline_kept_target": Rule(_l("Deadlines kept target"), "percent", False, 0, 100),
    "plan_completion_target": Rule(_l("Service plan completion target"), "percent", False, 0, 100),
    "contract_expiry_window_days": Rule(_l("Contract expiry notice window"), "days", False, 1, 366),
    "duty_roster_lead_hours": Rule(_l("Duty roster set ahead by"), "hours", False, 1, MAX_HOURS),
    "hotline_seats_per_mille": Rule(_l("Hotline seats per users"), "per_mille", False, 0, 1000),
    "shift_am_start": Rule(_l("Morning shift starts"), "time"),
    "shift_am_end": Rule(_l("Morning shift ends"), "time"),
    "shift_pm_start": Rule(_l("Afternoon shift starts"), "time"),
    "shift_pm_end": Rule(_l("Afternoon shift ends"), "time"),
    "summary_due_days": Rule(_l("Maintenance summary due after the period"), "days", False, 1, 366),
    "check_in_grace_minutes": Rule(_l("Duty check-in missed after"), "minutes", False, 1, 240),
    "clock_kept_target": Rule(_l("Time promises kept target"), "percent", False, 0, 100),
    "kb_review_days": Rule(_l("Knowledge articles reviewed every"), "days", False, 1, 3660),
    "follow_up_score": Rule(_l("Callbacks followed up at this score or lower"), "score", False, 1, 4),
}
# Both ends of the range are allowed except where zero is: a limit of 0 hours or a target of 0 % means nothing.
_LOW_EXCLUSIVE = {"percent", "per_mille"}
SHIFT_ORDER = ("shift_am_start", "shift_am_end", "shift_pm_start", "shift_pm_end")
PER_LEVEL = tuple(MaintenanceStatus)  # the columns of a per-level field: stopped, ordinary, VIP


class PolicyValueError(ValueError):
    """A value the policy page refuses; `message` is shown to the administrator (in Chinese)."""

    def __init__(self, message, field: str = "value"):
        super().__init__(str(message))
        self.message = message
        self.field = field  # the form field it is about: value, field, level or reason


def shown(name: str, value) -> str:
    """A value as the administrator reads and types it: hours as a whole number, 0.85 as 85, 08:30."""
    unit = RULES[name].unit
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if unit == "percent":
        value = round(float(value) * 100, 4)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def parse_entered(name: str, text: str):
    """A value typed on the policy page → the value kept (85 → 0.85); PolicyValueError for nonsense."""
    rule, kind = RULES[name], {f.name: f.type for f in fields(Policy)}[name]
    text = (text or "").strip().replace("％", "%").rstrip("%‰").strip()
    if not text:
        raise PolicyValueError(_l("Enter a value."))
    if rule.unit == "time":
        try:
            h, m = text.replace("：", ":").split(":")
            return time(int(h), int(m))
        except (TypeError, ValueError):
            raise PolicyValueError(_l("Enter a time of day as HH:MM, e.g. 08:30.")) from None
    try:
        number = float(text)
    except ValueError:
        raise PolicyValueError(_l("Enter a number.")) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise PolicyValueError(_l("Enter a number."))
    too_low = number <= rule.low if rule.unit in _LOW_EXCLUSIVE else number < rule.low
    if too_low or number > rule.high:
        if rule.unit in _LOW_EXCLUSIVE:
            raise PolicyValueError(_l("Enter a value above %(low)s and at most %(high)s.", low=shown_bound(rule.low),
                                      high=shown_bound(rule.high)))
        raise PolicyValueError(_l("Enter a value from %(low)s to %(high)s.", low=shown_bound(rule.low),
                                  high=shown_bound(rule.high)))
    if kind in (int, "int"):
        if not number.is_integer():
            raise PolicyValueError(_l("Enter a whole number."))
        return int(number)
    return round(number / 100, 6) if rule.unit == "percent" else number


def parse_stored(name: str, raw: str):
    """A stored value (snapshot format) → its Python value."""
    return _parse({f.name: f.type for f in fields(Policy)}[name], str(raw))


def shown_bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_whole(p: Policy) -> None:
    """Rules between numbers: the shifts run in order through the day (morning before afternoon)."""
    times = [getattr(p, n) for n in SHIFT_ORDER]
    if not (times[0] < times[1] <= times[2] < times[3]):
        raise PolicyValueError(_l("The shifts must run in order: the morning shift starts before it ends, the "
                                  "afternoon shift starts after the morning shift ends and before it ends."))


def snapshot(p: Policy) -> dict:
    """The policy as plain JSON values (kept on a ticket when it is registered)."""
    out = {}
    for f in fields(Policy):
        v = getattr(p, f.name)
        out[f.name] = v.strftime("%H:%M") if isinstance(v, time) else v
    return out


def from_snapshot(values: dict | None, level: str | MaintenanceStatus | None = None) -> Policy:
    """The policy a snapshot recorded; fields it does not have (added since) take today's value for `level`."""
    if not values:
        return policy_for(level)
    # A complete snapshot needs nothing of today's policy (and no look at the store).
    current = policy() if all(f.name in values for f in fields(Policy)) else policy_for(level)
    kept = {}
    for f in fields(Policy):
        if f.name in values:
            try:
                kept[f.name] = _parse(f.type, str(values[f.name]))
            except (TypeError, ValueError):
                continue
    return replace(current, **kept)


# --- Working days --------------------------------------------------------------------------
# The official schedule (holidays and make-up workdays, 调休) comes from `chinesecalendar`, which
# knows a year only once the State Council has published it (late in the year before) and the
# package has been upgraded. A year it does not know yet must not stop the sweeps on 1 January:
# until then, Monday–Friday count, except the holidays that fall on fixed dates. An administrator enters that
# year's holidays and make-up days in the portal (/admin/calendar, portal.core.workcalendar): they count first.
FIXED_DATE_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}
_warned_years: set[int] = set()


def is_workday(day: date) -> bool:
    entered = workcalendar.override(day)
    if entered is not None:
        return entered
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinesecalendar has no schedule for %s: counting Monday-Friday; upgrade the package",
                        day.year)
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS


def workday_after(day: date, n: int) -> date:
    """The n-th working day after `day` (n >= 1)."""
    for _ in range(n):
        day += timedelta(days=1)
        while not is_workday(day):
            day += timedelta(days=1)
    return day


def workday_before(day: date, n: int) -> date:
    """The n-th working day before `day` (n >= 1)."""
    for _ in range(n):
        day -= timedelta(days=1)
        while not is_workday(day):
            day -= timedelta(days=1)
    return day


def ticket_policy(ticket) -> Policy:
    """The limits a ticket is held to: the snapshot taken when it was registered."""
    values = getattr(ticket, "policy_snapshot", None)
    if values and all(f.name in values for f in fields(Policy)):
        return from_snapshot(values)  # complete: the customer (a query if not loaded) is not needed
    return from_snapshot(values, getattr(ticket.customer, "maintenance_status", None))
