"""Service-level policy (SPEC §4, the standard's numbers) — the one configurable place.

Every number can be overridden by an environment variable POLICY_<NAME> (e.g.
POLICY_CONTRACT_EXPIRY_WINDOW_DAYS=60). Code reads them only through `policy()`.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, fields, replace
from datetime import date, time, timedelta

import chinese_calendar

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

    Issue 15 step: administrators edit the numbers per level in the portal; until those are stored, every
    level has the defaults."""
    return policy()


def snapshot(p: Policy) -> dict:
    """The policy as plain JSON values (kept on a ticket when it is registered)."""
    out = {}
    for f in fields(Policy):
        v = getattr(p, f.name)
        out[f.name] = v.strftime("%H:%M") if isinstance(v, time) else v
    return out


def from_snapshot(values: dict | None, level: str | MaintenanceStatus | None = None) -> Policy:
    """The policy a snapshot recorded; fields it does not have (added since) take today's value for `level`."""
    current = policy_for(level)
    if not values:
        return current
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
# until then, Monday–Friday count, except the holidays that fall on fixed dates.
FIXED_DATE_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}
_warned_years: set[int] = set()


def is_workday(day: date) -> bool:
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
    return from_snapshot(getattr(ticket, "policy_snapshot", None), getattr(ticket.customer, "maintenance_status", None))
