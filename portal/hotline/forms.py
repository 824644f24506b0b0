"""The hotline duty record form (热线值班记录): the fields the service standard lists."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.core.params import IdField
from portal.core.validators import CnPhone, LongText
from portal.hotline.operations import UNIT_MESSAGE

REQUIRED = _l("This field is required.")


class HotlineRecordForm(FlaskForm):
    # May stay empty when a customer unit is linked: the unit's name is used then.
    unit_name = StringField(_l("Unit name"), validators=[Optional(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[DataRequired(REQUIRED), Length(max=40), CnPhone()])
    contact_name = StringField(_l("Contact name"), validators=[DataRequired(REQUIRED), Length(max=64)])
    content = TextAreaField(_l("Problem content"), validators=[DataRequired(REQUIRED), LongText(20000)])
    handling = TextAreaField(_l("Handling"), validators=[Optional(), LongText(20000)])
    # Optional link to a known customer unit, chosen with the htmx unit lookup (radio inputs named customer_id).
    customer_id = IdField(_l("Customer unit"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not (self.unit_name.data or "").strip() and not self.customer_id.data and not self.customer_id.errors:
            self.unit_name.errors = list(self.unit_name.errors) + [UNIT_MESSAGE]
            ok = False
        return ok
