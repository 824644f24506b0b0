"""The form of a standard reply: kind, title, text; refused in Chinese when empty, too long, or holding a
placeholder the portal cannot fill."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, ValidationError

from portal.core.validators import LongText
from portal.replies.models import ReplyKind
from portal.replies.operations import BODY_MAX, TITLE_MAX, unknown_message
from portal.replies.placeholders import unknown_placeholders

REQUIRED = _l("This field is required.")


class KnownPlaceholders:
    def __call__(self, form, field):
        unknown = unknown_placeholders(field.data or "")
        if unknown:
            raise ValidationError(unknown_message(unknown))


class ReplyForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=ReplyKind.choices(), default=ReplyKind.GENERAL.value,
                       validate_choice=True)
    title = StringField(_l("Title"), validators=[DataRequired(REQUIRED), LongText(TITLE_MAX), KnownPlaceholders()])
    body = TextAreaField(_l("Text"), validators=[DataRequired(REQUIRED), LongText(BODY_MAX), KnownPlaceholders()])
