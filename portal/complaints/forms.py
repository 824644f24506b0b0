from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.core.enums import ContactMethod, MaintenanceStatus
from portal.core.params import BoundedDateField, CursorField, IdField, coerce_id, within_calendar
from portal.core.validators import LongText
from portal.complaints.models import ComplaintState

REQUIRED = _l("This field is required.")
CHOOSE_HANDLER = _l("Choose who is to handle it.")


def _handler_id(value):
    """0 is the "— choose —" choice (nobody yet); anything else a bounded user id (else a Chinese refusal)."""
    return 0 if value in (0, "0", "", None) else coerce_id(value)


class ComplaintForm(FlaskForm):
    ticket_number = StringField(_l("Ticket number (if it is about a ticket)"), validators=[Optional(), Length(max=20)])
    customer_id = IdField(_l("Unit"), validators=[Optional()])
    channel = SelectField(_l("Received by"), choices=ContactMethod.choices(), default="phone")
    complainant = StringField(_l("Complainant"), validators=[DataRequired(REQUIRED), Length(max=64)])
    complainant_phone = StringField(_l("Complainant's phone"), validators=[Optional(), Length(max=40)])
    content = TextAreaField(_l("What the customer complains about"), validators=[DataRequired(REQUIRED),
                                                                                 LongText(20000)])
    handler_id = SelectField(_l("To be handled by"), coerce=_handler_id, validate_choice=False)
    received_at = DateTimeLocalField(_l("Received at (empty: now)"), format="%Y-%m-%dT%H:%M",
                                     validators=[Optional(), within_calendar])

    def validate_handler_id(self, field):
        # Checked with the other fields, so the first submit names every mistake (the choices are the
        # eligible handlers, set by the route; the operation checks again).
        if not field.data or field.data not in {value for value, _label in field.choices or ()}:
            raise ValidationError(CHOOSE_HANDLER)


class HandleForm(FlaskForm):
    handling = TextAreaField(_l("What was done"), validators=[DataRequired(REQUIRED), LongText(20000)])
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(REQUIRED), LongText(20000)])
    version = HiddenField()


class ConfirmForm(FlaskForm):
    accepted = RadioField(_l("Does the customer accept the outcome?"),
                          choices=[("yes", _l("Yes — close the complaint")), ("no", _l("No — handle it again"))],
                          validators=[DataRequired(_l("Say whether the customer accepts the outcome."))])
    confirmation = TextAreaField(_l("What the customer said"), validators=[DataRequired(REQUIRED), LongText(20000)])
    version = HiddenField()


class ComplaintFilterForm(FlaskForm):
    class Meta:
        csrf = False

    state = SelectField(_l("State"), choices=[("", _l("All"))] + ComplaintState.choices(), validate_choice=True,
                        default="")
    received_from = BoundedDateField(_l("Received from"), validators=[Optional()])
    received_to = BoundedDateField(_l("to"), validators=[Optional()])
    customer_id = IdField(_l("Unit"), validators=[Optional()])
    level = SelectField(_l("Maintenance level"), choices=[("", _l("All"))] + MaintenanceStatus.choices(),
                        validate_choice=True, default="")
    department = SelectField(_l("Department"), choices=[("", ""), ("dev", ""), ("impl", "")], validate_choice=True,
                             default="")
    engineer = IdField(_l("Engineer"), validators=[Optional()])
    after = CursorField()
