"""Forms of the handover page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.core.enums import ContactMethod

REQUIRED = _l("This field is required.")
SATISFACTION = [("", "—")] + [(str(n), str(n)) for n in range(5, 0, -1)]


class CallForm(FlaskForm):
    reached = BooleanField(_l("Reached the contact"), default=True)
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(REQUIRED), Length(max=2000)])


class ImplementationCallbackForm(FlaskForm):
    method = SelectField(_l("How"), choices=ContactMethod.choices(), default=ContactMethod.PHONE.value)
    contact_person = StringField(_l("With whom"), validators=[DataRequired(REQUIRED), Length(max=64)])
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(REQUIRED), Length(max=4000)])
    satisfaction = SelectField(_l("Satisfaction (1–5)"), choices=SATISFACTION, default="")

    @property
    def satisfaction_value(self) -> int | None:
        return int(self.satisfaction.data) if self.satisfaction.data else None
