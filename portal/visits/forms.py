"""The visit list's query arguments (GET) and each step's form (POST)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.params import CursorField, IdField, QueryForm, coerce_id, coerce_optional_id
from portal.core.validators import LongText
from portal.tickets.forms import REQUIRED, LocalDateTimeField
from portal.visits.models import VisitState


class VisitArgs(QueryForm):
    scope = SelectField(_l("Whose"), default="", validate_choice=True,
                        choices=[("", ""), ("mine", ""), ("department", ""), ("all", "")])
    state = SelectField(_l("State"), default="", validate_choice=True,
                        choices=[("", "")] + [(s.value, "") for s in VisitState])
    unit = IdField(_l("Customer unit"), validators=[Optional()])
    q = StringField(_l("Unit name"), validators=[Optional(), Length(max=50)])
    after = CursorField()


class BookForm(FlaskForm):
    appointment_at = LocalDateTimeField(_l("Appointment (agreed with the customer)"), validators=[Optional()])
    customer_contact = StringField(_l("Agreed with (customer contact)"), validators=[Optional(), Length(max=64)])
    engineer_id = SelectField(_l("Who goes"), coerce=coerce_optional_id, validate_choice=False,
                              validators=[Optional()])
    companion_ids = SelectMultipleField(_l("Companions"), coerce=coerce_id, validate_choice=False,
                                        validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), LongText(2000)])


class MomentForm(FlaskForm):
    at = LocalDateTimeField(_l("When (empty: now)"), validators=[Optional()])


class WorkForm(FlaskForm):
    result = TextAreaField(_l("Result explained"), validators=[DataRequired(REQUIRED), LongText(10000)])


class ConfirmForm(FlaskForm):
    name = StringField(_l("Confirmed by (customer's name)"), validators=[DataRequired(REQUIRED), Length(max=64)])
    text = TextAreaField(_l("Typed confirmation"), validators=[Optional(), LongText(2000)])
    sheet = FileField(_l("Signed sheet (PDF or photo)"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why it is cancelled"), validators=[DataRequired(REQUIRED), LongText(2000)])


class PlanForm(FlaskForm):
    department = SelectField(_l("Department that goes"), default="impl", validate_choice=True,
                             choices=[("impl", _l("Implementation Dept.")), ("dev", _l("Development Dept."))])
    reason = TextAreaField(_l("What is planned"), validators=[Optional(), LongText(2000)])


STEP_FORMS = {"book": BookForm, "depart": MomentForm, "arrive": MomentForm, "record_work": WorkForm,
              "confirm": ConfirmForm, "leave": MomentForm, "cancel": CancelForm}
