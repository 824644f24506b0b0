"""Forms of the customer area. Field names match the keyword arguments of the operations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from portal.core.enums import MaintenanceStatus
from portal.core.params import BoundedDateField, BoundedDecimalField, CursorField, QueryForm
from portal.core.validators import CnPhone

REQUIRED = _l("This field is required.")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EMAIL_MESSAGE = _l("Enter a valid e-mail address, e.g. name@example.cn.")


class UserCountField(IntegerField):
    """A whole number; one clear message instead of WTForms' generic one."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(_l("Enter the number of users (a whole number).")))


class FeeField(BoundedDecimalField):
    def __init__(self, *a, **kw):
        kw.setdefault("message", _l("Enter the fee as a number, e.g. 20000 or 20000.50."))
        super().__init__(*a, **kw)


class OptionalDateField(BoundedDateField):
    """An empty box is 'no value' (the required check then says so), not 'a bad date'; a date is within the
    calendar the portal computes with (portal.core.params)."""


def not_negative(message):
    def check(form, field):
        if field.data is not None and field.data < 0:
            raise ValidationError(message)
    return check


class UnitForm(FlaskForm):
    name = StringField(_l("Unit name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40), CnPhone()])
    user_count = UserCountField(_l("Number of users"), default=0,
                                validators=[InputRequired(_l("Enter the number of users (a whole number).")),
                                            not_negative(_l("The number of users cannot be negative.")),
                                            NumberRange(max=10_000_000,
                                                        message=_l("The number of users is too large."))])


class NewUnitForm(UnitForm):
    # The starting status only; later changes are the market manager's (StatusForm).
    status = SelectField(_l("Maintenance status"), choices=MaintenanceStatus.choices(),
                         default=MaintenanceStatus.ORDINARY.value, validators=[InputRequired(REQUIRED)])
    is_project = BooleanField(_l("Project unit (still with the project team; hand it over to after-sales later)"))


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=64)])
    department = StringField(_l("Dept. (科室)"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[DataRequired(REQUIRED), Length(max=40), CnPhone()])
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=255), Regexp(EMAIL_PATTERN,
                                                                                      message=EMAIL_MESSAGE)])


class ContractForm(FlaskForm):
    start_date = OptionalDateField(_l("Start date"), validators=[InputRequired(_l("Enter a date."))])
    end_date = OptionalDateField(_l("End date"), validators=[InputRequired(_l("Enter a date."))])
    fee = FeeField(_l("Fee (yuan)"), places=2,
                   validators=[InputRequired(_l("Enter the fee (0 for a free year).")),
                               not_negative(_l("The fee cannot be negative.")),
                               NumberRange(max=9_999_999_999, message=_l("The fee is too large."))])
    free_year = BooleanField(_l("Free first year after purchase"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date cannot be before the start date."))


class RenewForm(ContractForm):
    """A contract's next period (prefilled from the contract it follows)."""


class StatusForm(FlaskForm):
    status = SelectField(_l("New maintenance status"), choices=MaintenanceStatus.choices(),
                         validators=[InputRequired(REQUIRED)])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give a reason for the change.")),
                                                     Length(max=2000)])


class KeepStatusForm(FlaskForm):
    """保持当前维护等级 after a contract lapsed (operations.keep_status). Shown beside StatusForm: its own
    element ids, the same field names as the operation's arguments."""
    reason = TextAreaField(_l("Reason for keeping it"), id="keep-reason",
                           validators=[DataRequired(_l("Give a reason for keeping the status.")), Length(max=2000)])
    review_on = OptionalDateField(_l("Review date (optional)"), id="keep-review_on", validators=[Optional()])


class ImportUploadForm(FlaskForm):
    file = FileField(_l("Excel file (.xlsx)"), validators=[FileRequired(_l("Choose an Excel file (.xlsx)."))])


class ImportConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    fingerprint = HiddenField(validators=[DataRequired()])


class UnitListArgs(QueryForm):
    """The unit list's query arguments (the search text `q` is free text, read as it is)."""
    status = SelectField(_l("Maintenance status"), default="", validate_choice=True,
                         choices=[("", "")] + [(v, "") for v, _t in MaintenanceStatus.choices()])
    # 即将到期: units whose contract is in its expiry window (portal/customers/expiry.py)
    contract = SelectField(_l("Contract"), default="", validate_choice=True,
                           choices=[("", ""), ("expiring", "")])
    after = CursorField()
