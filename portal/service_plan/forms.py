"""The service plan's query arguments (GET)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from portal.core.enums import MaintenanceStatus
from portal.core.params import CursorField, MonthField, QueryForm


class PlanArgs(QueryForm):
    month = MonthField(_l("Month"))
    level = SelectField(_l("Maintenance level"), default="", validate_choice=True,
                        choices=[("", ""), (MaintenanceStatus.VIP.value, ""), (MaintenanceStatus.ORDINARY.value, "")])
    after = CursorField()
