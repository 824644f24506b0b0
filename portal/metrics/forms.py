"""The dashboard's filter form (GET): period, department, engineer, unit, maintenance level."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Optional

from portal.core.enums import MaintenanceStatus
from portal.core.params import BoundedDateField, IdField
from portal.metrics import periods
from portal.metrics.queries import Scope


class DashboardForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    period = StringField(_l("Reporting period"), validators=[Optional()])
    first = BoundedDateField(_l("From"), validators=[Optional()])
    last = BoundedDateField(_l("To"), validators=[Optional()])
    department = SelectField(_l("Department"), choices=[], validate_choice=True)
    engineer = IdField(_l("Engineer"), validators=[Optional()])
    customer_id = IdField(_l("Unit"), validators=[Optional()])
    unit = StringField(_l("Unit"), validators=[Optional()])
    level = SelectField(_l("Maintenance level"), validate_choice=True, default="",
                        choices=[("", _l("All levels"))] + MaintenanceStatus.choices())

    def scope(self, today: date) -> tuple[Scope | None, str | None]:
        """The scope asked for, or (None, why not)."""
        raw = (self.period.data or "").strip()
        kind = "custom" if raw == "custom" else _kind_of(raw)
        try:
            period = periods.parse(kind, "" if kind == "custom" else raw, self.first.data, self.last.data, today)
        except periods.PeriodError as e:
            return None, str(e)
        return Scope(period=period, department=self.department.data or None, engineer_id=self.engineer.data or None,
                     customer_id=self.customer_id.data or None, level=self.level.data or None), None


def _kind_of(value: str) -> str:
    if not value:
        return "month"
    if "Q" in value.upper():
        return "quarter"
    if "-" in value:
        return "month"
    return "year"


def scope_args(scope: Scope, **changes) -> dict:
    """The dashboard's query arguments for a scope (the inverse of DashboardForm.scope)."""
    p = scope.period
    args = {"period": "custom" if p.kind == "custom" else p.value}
    if p.kind == "custom":
        args.update(first=p.start.isoformat(), last=p.last.isoformat())
    for key, value in (("department", scope.department), ("engineer", scope.engineer_id),
                       ("customer_id", scope.customer_id), ("level", scope.level)):
        if value:
            args[key] = value
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "")}


def period_choices(current: periods.DashPeriod, today: date) -> list[tuple[str, list[tuple[str, str]]]]:
    """The period picker's option groups: recent months, quarters and years, and a custom range."""
    month = periods.of_kind("month", today)
    quarter = periods.of_kind("quarter", today)
    year = periods.of_kind("year", today)
    groups = [
        (_l("Month"), [(p.value, p.label) for p in [month.earlier(i) for i in range(24)]]),
        (_l("Quarter"), [(p.value, p.label) for p in [quarter.earlier(i) for i in range(8)]]),
        (_l("Year"), [(p.value, p.label) for p in [year.earlier(i) for i in range(5)]]),
        (_l("Other"), [("custom", str(_l("Custom range (from – to)")))]),
    ]
    if current.kind != "custom" and not any(current.value == v for _g, opts in groups for v, _t in opts):
        groups.insert(0, (_l("Chosen"), [(current.value, current.label)]))
    return groups

