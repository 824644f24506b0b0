"""Forms for intake and for each workflow action. Field names match what the action records."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateTimeLocalField, HiddenField,
                     MultipleFileField, RadioField, SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from portal.core.enums import Channel, ContactMethod, TicketType
from portal.core.params import DATE_MESSAGE, BoundedDecimalField, IdField, coerce_optional_id, in_calendar
from portal.core.timeutil import from_local
from portal.core.validators import CnPhone, LongText

REQUIRED = _l("This field is required.")


class LocalDateTimeField(DateTimeLocalField):
    """A datetime typed in Shanghai time, handed to operations as naive UTC."""

    def __init__(self, *a, **kw):
        kw.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
        super().__init__(*a, **kw)

    def pre_validate(self, form):
        if not in_calendar(self.data):
            raise StopValidation(str(DATE_MESSAGE))

    def utc(self) -> datetime | None:
        return from_local(self.data) if self.data else None


class TicketForm(FlaskForm):
    channel = SelectField(_l("Channel"), choices=Channel.choices(), validators=[InputRequired(REQUIRED)])
    customer_id = IdField(_l("Customer unit"), validators=[InputRequired(_l("Choose the customer unit."))])
    type = SelectField(_l("Type"), choices=TicketType.choices(), validators=[InputRequired(REQUIRED)])
    reporter_name = StringField(_l("Reporter"), validators=[DataRequired(REQUIRED), Length(max=64)])
    reporter_dept = StringField(_l("Department (科室)"), validators=[DataRequired(REQUIRED), Length(max=100)])
    reporter_phone = StringField(_l("Phone"), validators=[DataRequired(REQUIRED), Length(max=40), CnPhone()])
    summary = StringField(_l("Summary"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Detailed description"), validators=[Optional(), LongText(20000)])
    attachments = MultipleFileField(_l("Attachments"))
    hotline_record_id = HiddenField()
    # When the customer reported it (default now; earlier for a hotline record or an e-mail): every
    # service-level clock runs from here. Checked by the operation (never in the future, never long ago).
    reported_at = LocalDateTimeField(_l("Reported at"), validators=[Optional()])
    # The caller picked from the unit's saved contacts (radio buttons the unit's choice brings): the
    # title parts left empty are taken from it (portal.tickets.operations.picked_contact).
    contact_id = StringField(_l("Caller"), validators=[Optional(), Length(max=12)])
    save_contact = BooleanField(_l("Save the reporter as the unit's contact"))

    def fill_blanks_from(self, contact) -> None:
        """The title parts left empty come from the picked contact (what was typed wins)."""
        for field, value in ((self.reporter_name, contact.name), (self.reporter_dept, contact.department),
                             (self.reporter_phone, contact.phone)):
            if not (field.data or "").strip():
                field.data = value


def prefill_from_reporter(form, ticket) -> None:
    """Whom the deadline is told and whom the callback reaches are usually the reporter: offered, editable."""
    for name in ("whom", "contact_person"):
        field = getattr(form, name, None)
        if field is not None and not field.data:
            field.data = ticket.reporter_name


class _ActionForm(FlaskForm):
    version = HiddenField()


class RecordContactForm(_ActionForm):
    outcome = RadioField(_l("Outcome"), choices=[("proceed", _l("Customer continues (renewed / will pay)")),
                                                   ("declined", _l("Customer declined"))],
                         validators=[InputRequired(REQUIRED)])
    text = TextAreaField(_l("What was agreed"), validators=[DataRequired(REQUIRED), LongText(5000)])


class SuspendForFeeForm(_ActionForm):
    analysis = TextAreaField(_l("Analysis"), validators=[DataRequired(REQUIRED), LongText(5000)])


class RecordFeeForm(_ActionForm):
    outcome = RadioField(_l("Outcome"), choices=[("agreed", _l("Fee agreed")), ("declined", _l("Customer declined"))],
                         validators=[InputRequired(REQUIRED)])
    fee = BoundedDecimalField(_l("Fee (yuan)"), places=2, validators=[Optional(), NumberRange(min=0, max=100000000)])
    agreed_requirements = TextAreaField(_l("Agreed requirements"), validators=[Optional(), LongText(10000)])
    text = TextAreaField(_l("Result of the negotiation"), validators=[DataRequired(REQUIRED), LongText(5000)])


class AssignForm(_ActionForm):
    # The first choice is empty so that nobody is assigned by accident (routes add the people).
    assignee_id = SelectField(_l("Assignee"), coerce=coerce_optional_id, validators=[InputRequired(_l("Choose the assignee."))],
                              validate_choice=False)
    deadline = LocalDateTimeField(_l("Deadline"), validators=[InputRequired(_l("Set a deadline."))])
    analysis = TextAreaField(_l("Analysis"), validators=[Optional(), LongText(5000)])


class RouteToImplForm(_ActionForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), LongText(5000)])


class RejectForm(_ActionForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), LongText(5000)])
    duplicate_of = StringField(_l("Duplicate of (ticket number)"), validators=[Optional(), Length(max=20)])


class ApproveUrgentForm(_ActionForm):
    request = TextAreaField(_l("Customer's priority request (e-mail)"),
                            validators=[DataRequired(REQUIRED), LongText(5000)])


class NotifyDeadlineForm(_ActionForm):
    whom = StringField(_l("Told whom"), validators=[DataRequired(REQUIRED), Length(max=64)])
    method = SelectField(_l("How"), choices=ContactMethod.choices(), validators=[InputRequired(REQUIRED)])
    told_at = LocalDateTimeField(_l("When"), validators=[Optional()])
    text = TextAreaField(_l("Note"), validators=[Optional(), LongText(2000)])


class ResolveForm(_ActionForm):
    # Not named `process`: that is a method of every WTForms form. action_data() renames it.
    process_text = TextAreaField(_l("Process"), validators=[DataRequired(REQUIRED), LongText(20000)])
    result = TextAreaField(_l("Result"), validators=[DataRequired(REQUIRED), LongText(20000)])
    hours_spent = BoundedDecimalField(_l("Hours spent"), places=1,
                               validators=[InputRequired(REQUIRED), NumberRange(min=0, max=10000)])


class AnswerForm(_ActionForm):
    # Answered by sending a knowledge-base article (portal/kb_work): its number, recorded with the answer.
    article = StringField(_l("Article sent (number, e.g. KB-00012)"), validators=[Optional(), Length(max=20)])
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(REQUIRED), LongText(20000)])
    follow_up = BooleanField(_l("The answer revealed another problem: register it as a new ticket"))
    follow_up_type = SelectField(_l("Type of the new ticket"),
                                 choices=[(t.value, t.title) for t in TicketType if t is not TicketType.CONSULTATION])
    follow_up_summary = StringField(_l("Summary of the new problem"), validators=[Optional(), Length(max=200)])
    follow_up_description = TextAreaField(_l("Description of the new problem"),
                                          validators=[Optional(), LongText(20000)])


class CallbackForm(_ActionForm):
    solved = RadioField(_l("Solved?"), choices=[("yes", _l("Solved")), ("no", _l("Not solved — back to the engineer"))],
                        validators=[InputRequired(REQUIRED)])
    satisfaction = SelectField(_l("Satisfaction"), choices=[("", "—"), ("5", "5"), ("4", "4"), ("3", "3"), ("2", "2"),
                                                            ("1", "1")], validators=[Optional()])
    method = SelectField(_l("How"), choices=ContactMethod.choices(), validators=[InputRequired(REQUIRED)])
    contact_person = StringField(_l("Spoke with"), validators=[Optional(), Length(max=64)])
    text = TextAreaField(_l("Outcome"), validators=[DataRequired(REQUIRED), LongText(5000)])
    # Not solved: the reopened work needs a new deadline (the workflow requires it then).
    deadline = LocalDateTimeField(_l("New deadline (if not solved)"), validators=[Optional()])


class CloseForm(_ActionForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), LongText(5000)])


class ReopenForm(_ActionForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), LongText(5000)])
    deadline = LocalDateTimeField(_l("New deadline"), validators=[InputRequired(_l("Set a deadline."))])


class CommentForm(_ActionForm):
    text = TextAreaField(_l("Internal note"), validators=[Optional(), LongText(20000)])
    attachments = MultipleFileField(_l("Attachments"))


# --- actions for real days (portal/tickets/workflow.py's docstring) ---

class ReassignForm(_ActionForm):
    assignee_id = SelectField(_l("New assignee"), coerce=coerce_optional_id,
                              validators=[InputRequired(_l("Choose the assignee."))], validate_choice=False)
    deadline = LocalDateTimeField(_l("New deadline (empty: keep the deadline)"), validators=[Optional()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), LongText(5000)])


class ChangeDeadlineForm(_ActionForm):
    deadline = LocalDateTimeField(_l("New deadline"), validators=[InputRequired(_l("Set a deadline."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), LongText(5000)])


class RequestDeadlineChangeForm(_ActionForm):
    deadline = LocalDateTimeField(_l("Deadline asked for"), validators=[InputRequired(_l("Set a deadline."))])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(REQUIRED), LongText(5000)])


class HandBackForm(_ActionForm):
    reason = TextAreaField(_l("Why it goes back (e.g. not our problem, wrongly routed)"),
                           validators=[DataRequired(REQUIRED), LongText(5000)])


class WaitCustomerForm(_ActionForm):
    reason = TextAreaField(_l("What the customer must do (data to send, a visit date)"),
                           validators=[DataRequired(REQUIRED), LongText(5000)])


class ResumeForm(_ActionForm):
    deadline = LocalDateTimeField(_l("New deadline (empty: moved on by the time waited)"), validators=[Optional()])
    text = TextAreaField(_l("Note"), validators=[Optional(), LongText(5000)])


class EditForm(_ActionForm):
    """Filled in with the ticket as it is (routes); only what differs is changed."""

    reporter_name = StringField(_l("Reporter"), validators=[DataRequired(REQUIRED), Length(max=64)])
    reporter_dept = StringField(_l("Department (科室)"), validators=[DataRequired(REQUIRED), Length(max=100)])
    reporter_phone = StringField(_l("Phone"), validators=[DataRequired(REQUIRED), Length(max=40), CnPhone()])
    summary = StringField(_l("Summary"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Detailed description"), validators=[Optional(), LongText(20000)])
    customer_id = SelectField(_l("Customer unit"), coerce=coerce_optional_id, validate_choice=False,
                              validators=[InputRequired(_l("Choose the customer unit."))])
    type = SelectField(_l("Type"), choices=TicketType.choices(), validators=[InputRequired(REQUIRED)])
    # When the customer reported it: the clocks that run from it follow a correction (checked by the workflow).
    reported_at = LocalDateTimeField(_l("Reported at"), validators=[Optional()])
    reason = TextAreaField(_l("Why (optional)"), validators=[Optional(), LongText(2000)])


class NeedOnsiteForm(_ActionForm):
    reason = TextAreaField(_l("Why the phone cannot solve it"), validators=[DataRequired(REQUIRED), LongText(5000)])


ACTION_FORMS: dict[str, type[_ActionForm]] = {
    "record_contact": RecordContactForm, "suspend_for_fee": SuspendForFeeForm, "record_fee": RecordFeeForm,
    "assign": AssignForm, "route_to_impl": RouteToImplForm, "reject": RejectForm,
    "approve_urgent": ApproveUrgentForm, "notify_deadline": NotifyDeadlineForm, "resolve": ResolveForm,
    "answer": AnswerForm, "callback": CallbackForm, "close": CloseForm, "reopen": ReopenForm, "comment": CommentForm,
    "reassign": ReassignForm, "change_deadline": ChangeDeadlineForm,
    "request_deadline_change": RequestDeadlineChangeForm,
    "hand_back": HandBackForm, "wait_customer": WaitCustomerForm, "resume": ResumeForm, "edit": EditForm,
    "need_onsite": NeedOnsiteForm,
}


def action_data(form: _ActionForm) -> dict:
    """The cleaned values an action's handler receives (datetimes as naive UTC)."""
    out = {}
    for name, field in form._fields.items():
        if name in ("csrf_token", "version", "attachments"):
            continue
        if isinstance(field, LocalDateTimeField):
            out[name] = field.utc()
        elif isinstance(field, StringField) and isinstance(field.data, str):
            out[name] = field.data.strip()
        else:
            out[name] = field.data
    if "process_text" in out:
        out["process"] = out.pop("process_text")
    if "solved" in out:
        out["solved"] = {"yes": True, "no": False}.get(out["solved"])
        out["satisfaction"] = int(out["satisfaction"]) if out.get("satisfaction") else None
    return out


class BulkForm(FlaskForm):
    """The list's bulk action: what to do to the ticked tickets (the tickets come as `t`, number:version)."""
    action = SelectField(_l("Action"), choices=[("assign", _l("Assign")), ("close", _l("Close")),
                                               ("comment", _l("Internal note"))],
                         validators=[InputRequired(REQUIRED)])
    assignee_id = IdField(_l("Assignee"), validators=[Optional()])
    deadline = LocalDateTimeField(_l("Deadline"), validators=[Optional()])
    text = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not ok:
            return False
        if self.action.data == "assign":
            if not self.assignee_id.data:
                self.assignee_id.errors = [_l("Choose the assignee.")]
                ok = False
            if not self.deadline.data:
                self.deadline.errors = [_l("Set a deadline.")]
                ok = False
        if self.action.data == "comment" and not (self.text.data or "").strip():
            self.text.errors = [REQUIRED]
            ok = False
        return ok

    def action_data(self) -> dict:
        text = (self.text.data or "").strip()
        if self.action.data == "assign":
            return {"assignee_id": self.assignee_id.data, "deadline": self.deadline.utc(), "analysis": text}
        if self.action.data == "close":
            return {"note": text}
        return {"text": text}


class SavedViewForm(FlaskForm):
    name = StringField(_l("Name of the view"), validators=[DataRequired(REQUIRED), Length(max=40)])
    query = HiddenField()
