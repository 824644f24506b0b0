"""Forms of the admin area: accounts, departments, the service-level policy and the working-day calendar."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from portal.auth.operations import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from portal.core.enums import Role
from portal.core.params import BoundedDateField
from portal.core.validators import LongText

REQUIRED = _l("This field is required.")
EMAIL_MESSAGE = _l("Enter a valid e-mail address, e.g. wangfang@example.cn.")
PASSWORD_LENGTH_MESSAGE = _l("The password must have %(min)d to %(max)d characters.",
                             min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of check boxes (unknown values are refused by pre_validate)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _roles_field():
    return MultiCheckboxField(_l("Roles"), choices=Role.choices(),
                              validators=[DataRequired(_l("Choose at least one role."))])


def _department_field():
    # Choices are filled from the departments table by the route (names an admin may rename).
    return SelectField(_l("Department"), choices=[], validate_choice=True)


class _ProfileFields(FlaskForm):
    display_name = StringField(_l("Full name"), validators=[DataRequired(REQUIRED), Length(max=64)])
    department = _department_field()
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=255),
                                                  Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=EMAIL_MESSAGE)])
    roles = _roles_field()


class UserCreateForm(_ProfileFields):
    username = StringField(_l("User name"), validators=[
        DataRequired(REQUIRED), Length(max=64),
        Regexp(r"^\S+$", message=_l("The user name cannot contain spaces.")),
    ])
    password = PasswordField(_l("Initial password"), validators=[
        DataRequired(REQUIRED), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                                       message=PASSWORD_LENGTH_MESSAGE)])


class UserEditForm(_ProfileFields):
    active = BooleanField(_l("Active (may sign in)"))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(REQUIRED), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                                       message=PASSWORD_LENGTH_MESSAGE)])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(REQUIRED), EqualTo("password", message=_l("The two passwords differ."))])


class DepartmentForm(FlaskForm):
    name = StringField(_l("Display name"), validators=[DataRequired(REQUIRED), Length(max=80)])


class PolicyChangeForm(FlaskForm):
    """One number of the service-level policy for one level; the value is checked by portal.core.policy."""

    field = SelectField(_l("Policy item"), choices=[], validate_choice=True)
    level = SelectField(_l("Applies to"), choices=[], validate_choice=True)
    value = StringField(_l("New value"), validators=[DataRequired(_l("Enter a value.")), Length(max=20)])
    reason = TextAreaField(_l("Reason for the change"), validators=[
        DataRequired(_l("Give the reason for the change: it is kept in the history.")), LongText(500)])
class CalendarDayForm(FlaskForm):
    """One holiday or make-up working day (portal.core.workcalendar)."""

    day = BoundedDateField(_l("Date"), validators=[InputRequired(REQUIRED)])
    kind = SelectField(_l("Kind"), choices=[("holiday", _l("Public holiday (off)")),
                                            ("workday", _l("Make-up working day (调休)"))],
                       validators=[InputRequired(REQUIRED)])
    name = StringField(_l("Name of the day"), validators=[Optional(), Length(max=40)])


class CalendarImportForm(FlaskForm):
    text = TextAreaField(_l("Days, one per line: date,kind,name"), validators=[DataRequired(REQUIRED),
                                                                               LongText(20000)])
