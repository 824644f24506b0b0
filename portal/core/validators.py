"""Validators shared by forms, imports and operations."""
from __future__ import annotations

import re

import phonenumbers
from flask_babel import lazy_gettext as _l
from phonenumbers import PhoneNumberType
from wtforms.validators import ValidationError

_EXT = re.compile(r"^\s*(0\d{2,3})[-\s]?(\d{7,8})\s*(?:-|#|转|分机|ext\.?|x)\s*(\d{1,6})\s*$", re.IGNORECASE)
_OK_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
PHONE_MESSAGE = _l("Enter a mainland mobile number (e.g. 13800138000) or a landline with area code "
                   "(e.g. 010-12345678, extension as 010-12345678-801).")


def normalize_cn_phone(value: str) -> str | None:
    """The number in a canonical form (138 0013 8000 → 13800138000, 010-12345678-801), or None if invalid."""
    value = (value or "").strip()
    if not value or len(value) > 40:
        return None
    ext = None
    m = _EXT.match(value)
    if m:
        value, ext = m.group(1) + m.group(2), m.group(3)
    try:
        num = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return None
    if num.country_code != 86 or not phonenumbers.is_valid_number(num):
        return None
    if phonenumbers.number_type(num) not in _OK_TYPES:
        return None
    ext = ext or num.extension
    digits = str(num.national_number)
    if phonenumbers.number_type(num) == PhoneNumberType.MOBILE:
        national = digits
    else:
        area = phonenumbers.length_of_geographical_area_code(num)
        national = f"0{digits[:area]}-{digits[area:]}" if area else "0" + digits
    return f"{national}-{ext}" if ext else national


class CnPhone:
    """WTForms validator: mainland mobile or landline; replaces the data with the canonical form."""

    def __call__(self, form, field):
        if not field.data:
            return
        normalized = normalize_cn_phone(field.data)
        if normalized is None:
            raise ValidationError(PHONE_MESSAGE)
        field.data = normalized


class LongText:
    """At most `max` characters, refused with the limit and the text's length. Unlike WTForms' Length it puts no
    `maxlength` on the field: with it a browser drops whatever is pasted beyond the limit, silently."""

    def __init__(self, max: int):
        self.max = max
        self.field_flags: dict = {}

    def __call__(self, form, field):
        n = len(field.data or "")
        if n > self.max:
            raise ValidationError(_l("Too long: at most %(max)d characters, this text has %(n)d. Nothing was saved — "
                                     "shorten it and send it again.", max=self.max, n=n))
