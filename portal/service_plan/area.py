"""What the service plan plugs into the kernel: its page and the reminders its sweep opens
(how often each level is due is the cadence table in portal/core/policy.py)."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission
from portal.service_plan.operations import summary_filed


def _plan_row(r) -> str:
    return url_for("service_plan.index") + f"#unit-{r.customer_id}"


AREA = Area(
    key="service_plan",
    permissions=[
        Permission("service_plan.view", "see the service plan (callbacks and visits due per unit)"),
        Permission("service_plan.record", "record a monthly callback or an on-site visit"),
    ],
    nav=[NavEntry("service_plan.index", _l("Service plan"), 60)],
    kinds=[
        Kind("monthly_callback", _l("Monthly phone callback due"), recipients="cs",
             settled_by="a monthly callback recorded in the period", cadence="callback", link=_plan_row),
        Kind("visit", _l("On-site visit due"), recipients="cs",
             settled_by="a done on-site visit (arrival recorded) in the period", cadence="visit", link=_plan_row),
        Kind("summary", _l("Maintenance summary due"), recipients="cs",
             settled_by="the summary filed in the archive", cadence="summaries",
             link=lambda r: url_for("customers.show", unit_id=r.customer_id)),
    ],
    listeners={"document_ready": summary_filed},
)
