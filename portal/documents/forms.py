"""Forms of the archive. Field names match the keyword arguments of the operations."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.core.params import CursorField, IdField, QueryForm, coerce_id
from portal.customers.forms import EMAIL_MESSAGE, EMAIL_PATTERN, OptionalDateField
from portal.documents.models import DocumentKind

REQUIRED = _l("This field is required.")


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ArchiveListArgs(QueryForm):
    unit_id = IdField(_l("Customer unit"))
    after = CursorField()


class SummaryForm(FlaskForm):
    period = SelectField(_l("Covered period"), validators=[DataRequired(_l("Choose a period."))])


class ExpiryNoticeForm(FlaskForm):
    contact_id = SelectField(_l("Recipient (收件人)"), coerce=coerce_id, validate_choice=True)
    fax = StringField(_l("Recipient's fax number"), validators=[Optional(), Length(max=60)])
    renew_by = OptionalDateField(_l("Renew by (date printed in the letter)"), validators=[Optional()])
    boxes = CheckboxesField(_l("Marks on the fax form"), validate_choice=True)


class UploadForm(FlaskForm):
    kind = SelectField(_l("Document type"), choices=DocumentKind.choices(), default=DocumentKind.OTHER.value)
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    period = StringField(_l("Period (e.g. 2026, 2026Q3 or 2026-07)"), validators=[Optional(), Length(max=40)])
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))])


class RevisionUploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))])


class SentForm(FlaskForm):
    note = TextAreaField(_l("Sent to whom, and how"), validators=[DataRequired(_l("Say to whom and how it was sent.")),
                                                               Length(max=2000)])


class LetterheadForm(FlaskForm):
    name = StringField(_l("Service organisation (服务机构名称)"), validators=[DataRequired(REQUIRED), Length(max=200)])
    address = StringField(_l("Address"), validators=[DataRequired(REQUIRED), Length(max=300)])
    phone = StringField(_l("Service phone"), validators=[DataRequired(REQUIRED), Length(max=60)])
    fax = StringField(_l("Fax"), validators=[Optional(), Length(max=60)])
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=255),
                                                         Regexp(EMAIL_PATTERN, message=EMAIL_MESSAGE)])
    qq = StringField(_l("QQ"), validators=[Optional(), Length(max=40),
                                          Regexp(r"^\d{5,15}$", message=_l("A QQ number has 5 to 15 digits."))])
