from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.params import CursorField, IdField, QueryForm
from portal.core.validators import LongText
from portal.kb.models import Visibility

REQUIRED = _l("This field is required.")
TEXT_MAX = 20000


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    symptom = TextAreaField(_l("Symptom"), validators=[LongText(TEXT_MAX)])
    cause = TextAreaField(_l("Cause"), validators=[LongText(TEXT_MAX)])
    solution = TextAreaField(_l("Solution"), validators=[LongText(TEXT_MAX)])
    internal_notes = TextAreaField(_l("Internal notes (never shown to customers)"), validators=[LongText(TEXT_MAX)])
    module = StringField(_l("Product module"), validators=[Optional(), Length(max=100)])
    versions = StringField(_l("Affected versions"), validators=[Optional(), Length(max=200)])
    tags = StringField(_l("Tags (separated by commas)"), validators=[Optional(), Length(max=500)])
    visibility = SelectField(_l("Visibility"), choices=Visibility.choices(), default=Visibility.INTERNAL.value)
    comment = StringField(_l("What changed (for the history)"), validators=[Optional(), Length(max=500)])
    attachments = MultipleFileField(_l("Files and images"))
    revision = HiddenField()
    source = HiddenField()  # the ticket number it is written from


class ReviewForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[LongText(2000)])
    revision = HiddenField()


class LinkTicketForm(FlaskForm):
    ticket_number = StringField(_l("Ticket number"), validators=[DataRequired(REQUIRED), Length(max=20)])


VIEWS = [("", _l("Published")), ("drafts", _l("Drafts")), ("mine", _l("My articles")),
         ("stale", _l("Due for review")), ("archived", _l("Archived"))]


class KbQueryForm(QueryForm):
    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    module = StringField(_l("Product module"), validators=[Optional(), Length(max=100)])
    version = StringField(_l("Version"), validators=[Optional(), Length(max=100)])
    tag = StringField(_l("Tag"), validators=[Optional(), Length(max=30)])
    view = SelectField(_l("Show"), choices=VIEWS, default="")
    after = CursorField()


class DiffForm(QueryForm):
    """Which two revisions to compare (a bounded number each; a bad one is ignored: the latest change is shown)."""
    a = IdField(_l("From revision"), validators=[Optional()])
    b = IdField(_l("To revision"), validators=[Optional()])
