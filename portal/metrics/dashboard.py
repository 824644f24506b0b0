"""What the dashboard shows: the figures of a scope as tiles (each against its target, each linked to
the list that produced it), the twelve-period trend, and the tables by engineer and by level.
The page, the charts and the exports are all made from this one model."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

from portal.core.enums import MaintenanceStatus
from portal.core.kernel import kernel
from portal.core.policy import Policy, policy_for
from portal.kb_work import measures as kb_measures
from portal.metrics import drilldown, periods, queries
from portal.metrics.forms import scope_args
from portal.sla.display import promise_title

HOUR = 3600.0
DAY = 86400.0


def pct(x: float | None) -> str:
    return "—" if x is None else format_percent(x, "#,##0.0%")


def num(x: float | int | None, digits: int = 0) -> str:
    if x is None:
        return "—"
    return format_decimal(x, "#,##0" + ("." + "0" * digits if digits else ""))


def duration(seconds: float | None) -> str:
    """Working time: hours below two working days, working days above."""
    if seconds is None:
        return "—"
    if seconds < 2 * DAY:
        return _("%(n)s h", n=num(seconds / HOUR, 1))
    return _("%(n)s working days", n=num(seconds / DAY, 1))


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / HOUR, 2)


@dataclass
class Tile:
    key: str
    title: str
    value: str
    detail: list[tuple[str, str | None]] = field(default_factory=list)  # (text, link or None)
    target: str | None = None
    ok: bool | None = None  # None: no target, or not judged yet
    link: str | None = None
    note: str | None = None


@dataclass
class Promise:
    """One service-level promise's compliance in the scope: the share kept, against its target, with the
    breakdowns by department, engineer and level and the twelve-period trend."""

    key: str
    title: str
    figures: dict  # kept, breached, running
    share: float | None
    target: float
    ok: bool | None
    by_department: dict[str, dict]
    by_level: dict[str, dict]
    by_engineer: dict[int, dict]
    trend: list[dict | None]  # per trend period: figures or None

    @property
    def counted(self) -> int:
        return self.figures["kept"] + self.figures["breached"]


@dataclass
class Dashboard:
    scope: queries.Scope
    figures: dict
    ratios: dict
    durations: dict
    complaints: dict
    tiles: list[Tile]
    trend_periods: list[periods.DashPeriod]
    trend: list[dict]
    trend_ratios: list[dict]
    complaints_trend: list[int]
    engineers: list[dict]
    levels: list[dict]
    freshness: dict
    promises: list[Promise] = field(default_factory=list)
    compliance_tiles: list[Tile] = field(default_factory=list)
    engineer_names: dict[int, str] = field(default_factory=dict)


def _tickets(scope, **extra) -> str:
    return url_for("tickets.index", **drilldown.ticket_args(scope, **extra))


def _callbacks(scope, **extra) -> str:
    return url_for("metrics.callbacks", **scope_args(scope, **extra))


def _plan(scope, kind: str, **extra) -> str:
    return url_for("metrics.plan", **scope_args(scope, kind=kind, **extra))


def _complaints(scope, **extra) -> str:
    args = {"received_from": scope.period.start.isoformat(), "received_to": scope.period.last.isoformat()}
    for key, value in (("customer_id", scope.customer_id), ("level", scope.level),
                       ("department", scope.department), ("engineer", scope.engineer_id)):
        if value:
            args[key] = value
    args.update(extra)
    return url_for("complaints.index", **args)


def _at_least(value: float | None, target: float) -> bool | None:
    return None if value is None else value >= target


def _above(value: float | None, target: float) -> bool | None:
    """The standard says satisfaction *above* 85 %: exactly the target is not enough."""
    return None if value is None else value > target


def clocks_link(scope, key: str, outcome: str) -> str:
    return url_for("metrics.clocks", **scope_args(scope, key=key, outcome=outcome))


def clock_target(pol: Policy, key: str) -> float:
    """A promise's target share: its own policy field `<key>_target` if the policy has one, else the one
    for every time promise (100 %)."""
    return float(getattr(pol, f"{key}_target", pol.clock_kept_target))


LEVEL_ORDER = (MaintenanceStatus.VIP, MaintenanceStatus.ORDINARY, MaintenanceStatus.STOPPED)


def clock_title(key: str, level: str | None = None) -> str:
    """The promise's title as its area declares it, with the limit the policy sets today for the level shown
    (or for each level, when they differ): "24小时上门"; a key no area declares (any more) is shown as it is."""
    clock = kernel.clocks.get(key)
    if clock is None:
        return key
    levels = [level] if level else [s.value for s in LEVEL_ORDER]
    return promise_title(key, {lv: float(getattr(policy_for(lv), clock.limit)) for lv in levels})


def promises(scope: queries.Scope, trend_periods: list[periods.DashPeriod], pol: Policy) -> list[Promise]:
    """Every declared promise (in declaration order), then any other key the figures hold."""
    rows = queries.compliance_rows(scope)
    trend = queries.compliance_trend(scope, trend_periods)
    per_key = queries.compliance_by(rows, "key")
    by_dept = queries.compliance_by(rows, "key", "department")
    by_level = queries.compliance_by(rows, "key", "level")
    by_eng = queries.compliance_by(rows, "key", "assignee_id")
    keys = list(kernel.clocks) + sorted({k for (k,) in per_key} - set(kernel.clocks)
                                        | {k for t in trend for k in t} - set(kernel.clocks))
    out = []
    for key in keys:
        f = per_key.get((key,), {m: 0 for m in queries.CLOCK_MEASURES})
        share, target = queries.kept_share(f), clock_target(pol, key)
        out.append(Promise(
            key=key, title=clock_title(key, scope.level), figures=f, share=share, target=target, ok=_at_least(share, target),
            by_department={d: v for (k, d), v in by_dept.items() if k == key and d},
            by_level={lv: v for (k, lv), v in by_level.items() if k == key},
            by_engineer={e: v for (k, e), v in by_eng.items() if k == key and e},
            trend=[t.get(key) for t in trend],
        ))
    return out


def compliance_tiles(scope, items: list[Promise]) -> list[Tile]:
    """"24小时上门 92.3% · 目标100%": one tile per promise, the broken ones a click away."""
    out = []
    for p in items:
        f = p.figures
        detail = [(_("kept %(n)s", n=num(f["kept"])), clocks_link(scope, p.key, "kept")),
                  (_("broken %(n)s", n=num(f["breached"])), clocks_link(scope, p.key, "breached"))]
        if f["running"]:
            detail.append((_("running %(n)s", n=num(f["running"])), clocks_link(scope, p.key, "running")))
        out.append(Tile("clock_" + p.key, p.title, pct(p.share), detail=detail,
                        target=_("target %(t)s", t=pct(p.target)), ok=p.ok,
                        link=clocks_link(scope, p.key, "breached"),
                        note=None if p.counted else _("No promise of this kind fell due in this period.")))
    return out


def build(scope: queries.Scope) -> Dashboard:
    pol = policy_for(scope.level)  # company-wide targets; the level's own limits when one level is shown
    f = queries.totals(scope)
    r = queries.derived(f)
    d = queries.durations(scope, f)
    c = queries.complaints(scope)
    plan_applies = not (scope.department or scope.engineer_id)  # the service plan is customer service's
    plan_judged = scope.period.ended
    reply_limit = pol.first_reply_working_days * DAY

    tiles = [
        Tile("raised", _("Tickets raised"), num(f["raised"]), link=_tickets(scope),
             detail=[(_("solved %(n)s", n=num(f["solved"])), _tickets(scope, solved="1"))]),
        Tile("resolution_rate", _("Resolution rate"), pct(r["resolution_rate"]),
             target=_("target ≥ %(t)s", t=pct(pol.resolution_rate_target)),
             ok=_at_least(r["resolution_rate"], pol.resolution_rate_target), link=_tickets(scope, solved="1"),
             detail=[(_("%(solved)s of %(raised)s", solved=num(f["solved"]), raised=num(f["raised"])), None)]),
        Tile("response", _("Response time, median"), duration(d["response_p50"]),
             target=_("target: 90%% within %(n)s working days", n=pol.first_reply_working_days),
             ok=None if d["response_p90"] is None else d["response_p90"] <= reply_limit,
             link=_tickets(scope, responded="1"),
             detail=[(_("P90 %(t)s", t=duration(d["response_p90"])), None),
                     (_("%(n)s assigned", n=num(f["responded"])), None)]),
        Tile("resolution", _("Resolution time, median"), duration(d["resolution_p50"]),
             link=_tickets(scope, solved="1"),
             detail=[(_("P90 %(t)s", t=duration(d["resolution_p90"])), None),
                     (_("%(n)s solved", n=num(f["solved"])), None)]),
        Tile("deadline", _("Deadlines kept"), pct(r["deadline_kept_rate"]),
             target=_("target ≥ %(t)s", t=pct(pol.deadline_kept_target)),
             ok=_at_least(r["deadline_kept_rate"], pol.deadline_kept_target),
             link=_tickets(scope, deadline="kept"),
             detail=[(_("kept %(n)s", n=num(f["deadline_kept"])), _tickets(scope, deadline="kept")),
                     (_("missed %(n)s", n=num(f["deadline_missed"])), _tickets(scope, deadline="missed"))]),
        Tile("satisfaction", _("Satisfaction rate"), pct(r["satisfied_rate"]),
             target=_("target > %(t)s", t=pct(pol.satisfaction_target)),
             ok=_above(r["satisfied_rate"], pol.satisfaction_target), link=_callbacks(scope, satisfied="1"),
             detail=[(_("satisfied (4–5) %(n)s", n=num(f["callbacks_satisfied"])), _callbacks(scope, satisfied="1")),
                     (_("scored %(n)s", n=num(f["callbacks_scored"])), _callbacks(scope, scored="1"))]),
        Tile("satisfaction_mean", _("Mean satisfaction"),
             "—" if r["satisfaction_mean"] is None else _("%(n)s points", n=num(r["satisfaction_mean"], 2)),
             link=_callbacks(scope, scored="1"),
             detail=[(_("%(n)s callbacks scored", n=num(f["callbacks_scored"])), None)], note=_("scale 1–5")),
    ]
    for key, title, due, done, kind in (
            ("plan_callbacks", _("Monthly phone callbacks"), "plan_callbacks_due", "plan_callbacks_done",
             "monthly_callback"),
            ("plan_visits", _("On-site visits"), "plan_visits_due", "plan_visits_done", "visit")):
        rate = r[key + "_rate"]
        if not plan_applies:
            tiles.append(Tile(key, title, "—", note=_("The service plan belongs to no department or engineer.")))
            continue
        tiles.append(Tile(
            key, title, pct(rate), target=_("target ≥ %(t)s", t=pct(pol.plan_completion_target)),
            ok=_at_least(rate, pol.plan_completion_target) if plan_judged else None,
            link=_plan(scope, kind),
            detail=[(_("done %(n)s", n=num(f[done])), _plan(scope, kind, done="1")),
                    (_("not done %(n)s", n=num(f[due] - f[done])), _plan(scope, kind, done="0")),
                    (_("due %(n)s", n=num(f[due])), _plan(scope, kind))],
            note=None if plan_judged else _("Period not over yet"),
        ))
    tiles += [
        Tile("hours", _("Service hours"), _("%(n)s h", n=num(f["hours"], 1)), link=_tickets(scope),
             detail=[(_("%(n)s h per solved ticket", n=num(f["hours"] / f["solved"], 1) if f["solved"] else "—"),
                      None)]),
        Tile("complaints", _("Complaints"), num(c["received"]), link=_complaints(scope),
             detail=[(_("open %(n)s", n=num(c["open"])), _complaints(scope, state="received")),
                     (_("confirmed %(n)s", n=num(c["confirmed"])), _complaints(scope, state="confirmed"))]),
    ]
    # The knowledge base's tile (issue 16): the whole company's, whatever the filters (portal/kb_work/measures.py).
    tiles.append(Tile(**kb_measures.tile(scope.period.start, scope.period.end, scope.start_utc, scope.end_utc,
                                         narrowed=bool(scope.department or scope.engineer_id or scope.customer_id
                                                       or scope.level))))

    trend_periods = periods.trend(scope.period)
    trend = queries.trend(scope, trend_periods)
    items = promises(scope, trend_periods, pol)
    engineer_ids = {e for p in items for e in p.by_engineer}
    return Dashboard(
        scope=scope, figures=f, ratios=r, durations=d, complaints=c, tiles=tiles,
        trend_periods=trend_periods, trend=trend, trend_ratios=[queries.derived(t) for t in trend],
        complaints_trend=queries.complaints_trend(scope, trend_periods),
        engineers=[dict(e, **queries.derived(e)) for e in queries.by_engineer(scope)],
        levels=[dict(lv, **queries.derived(lv)) for lv in queries.by_level(scope)],
        freshness=queries.freshness(),
        promises=items, compliance_tiles=compliance_tiles(scope, items),
        engineer_names=queries.user_names(engineer_ids),
    )
