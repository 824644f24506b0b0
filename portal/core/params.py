"""The one way a number or a date gets into the portal from a request: path, query string or form.

Every id, count, page number and date a request carries is parsed here, within bounds the database and
Python can hold (an id that does not fit a 32-bit INTEGER column would make PostgreSQL refuse the query and
SQLite overflow; a date at the end of the calendar overflows the moment a day is added to it). Out of
range, negative, huge or malformed is simply "not a value":

- in a path (`<int:…>`): no route matches, so 404 — never OverflowError (`IdConverter`);
- in a list's query string: the filter is ignored and the page says so (`QueryForm.ignored_titles`);
- in a form: the field's Chinese message and 422, nothing written (`IdField`, `BoundedIntegerField`,
  `BoundedDateField`, `within_calendar`).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.routing import IntegerConverter
from werkzeug.routing import ValidationError as RouteMismatch
from wtforms import DateField, DecimalField, IntegerField, StringField
from wtforms.validators import ValidationError

from portal.core.security import error_response

ID_MAX = 2**31 - 1  # ids are INTEGER columns: PostgreSQL's int4 is the narrowest store we run on
DATE_MIN = date(1900, 1, 1)  # a day either side still fits Python's and both databases' calendars
DATE_MAX = date(2999, 12, 31)
CURSOR_MAX = 400  # characters of an opaque page cursor (portal.core.pagination)
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: int() would also take "١٢" and "1_000"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

ID_MESSAGE = _l("Not a valid choice: choose from the list.")
DATE_MESSAGE = _l("Enter a date between 1900-01-01 and 2999-12-31, as YYYY-MM-DD.")


def parse_int(raw, low: int, high: int) -> int | None:
    """A whole number within [low, high] written in ASCII digits (an optional leading minus), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw or "").strip()
        negative = text.startswith("-")
        if not _DIGITS.fullmatch(text[1:] if negative else text):
            return None
        value = -int(text[1:]) if negative else int(text)
    return value if low <= value <= high else None


def parse_id(raw) -> int | None:
    """A row id (1 … ID_MAX), else None."""
    return parse_int(raw, 1, ID_MAX)


def parse_date(raw) -> date | None:
    """A YYYY-MM-DD date within DATE_MIN … DATE_MAX, else None."""
    if isinstance(raw, date) and not isinstance(raw, datetime):
        value = raw
    else:
        text = str(raw or "").strip()
        if not _ISO_DATE.fullmatch(text):
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            return None
    return value if DATE_MIN <= value <= DATE_MAX else None


def in_calendar(value: date | datetime | None) -> bool:
    """Within the span the portal computes with (a datetime by its date)."""
    if value is None:
        return True
    d = value.date() if isinstance(value, datetime) else value
    return DATE_MIN <= d <= DATE_MAX


# --- paths ---------------------------------------------------------------------------------

class IdConverter(IntegerConverter):
    """`<int:…>` for the whole portal: 1 … ID_MAX, at most 10 digits, else the route does not match (404)."""

    regex = r"\d{1,10}"

    def __init__(self, map, fixed_digits=0, min=1, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        if not _DIGITS.fullmatch(value):
            raise RouteMismatch()
        return super().to_python(value)


NUL_MESSAGE = _l("The request contains a NUL character, which no field accepts. Remove it and try again.")


def _refuse_nul():
    """No text the portal keeps or looks up may hold NUL: PostgreSQL refuses it in any text value (a 500 at
    the first query), SQLite would store it. One check for every path, query argument and form field."""
    if "\x00" in request.path:
        return error_response(404, str(_l("Not found.")))
    for source in (request.args, request.form if request.method != "GET" else None):
        if source and any("\x00" in k or "\x00" in v for k, v in source.items(multi=True)):
            return error_response(400, str(NUL_MESSAGE))
    return None


def init_app(app) -> None:
    """Must run before any blueprint is registered: rules take their converter when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_nul)


# --- forms ---------------------------------------------------------------------------------

class BoundedIntegerField(IntegerField):
    """An integer field that refuses (with `message`) anything outside [low, high], huge values included."""

    def __init__(self, label=None, validators=None, low: int = 0, high: int = ID_MAX, message=None, **kw):
        super().__init__(label, validators, **kw)
        self.low, self.high = low, high
        self.message = message or _l("Enter a whole number between %(low)s and %(high)s.", low=low, high=high)

    def process_formdata(self, valuelist):
        if not valuelist or str(valuelist[0]).strip() == "":
            self.data = None
            return
        self.data = parse_int(valuelist[0], self.low, self.high)
        if self.data is None:
            raise ValueError(str(self.message))


class IdField(BoundedIntegerField):
    """A row id picked from a list (1 … ID_MAX); anything else is 'not a valid choice'."""

    def __init__(self, label=None, validators=None, message=None, **kw):
        super().__init__(label, validators, low=1, high=ID_MAX, message=message or ID_MESSAGE, **kw)


class BoundedDateField(DateField):
    """YYYY-MM-DD within DATE_MIN … DATE_MAX; an empty box is 'no value'."""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None
            return
        self.data = parse_date(valuelist[0])
        if self.data is None:
            raise ValueError(str(DATE_MESSAGE))


def within_calendar(form, field):
    """Validator for date and datetime fields parsed elsewhere (e.g. datetime-local)."""
    if not in_calendar(field.data):
        raise ValidationError(str(DATE_MESSAGE))


class CursorField(StringField):
    """An opaque page cursor: a bounded string; portal.core.pagination decides what it means."""

    def process_formdata(self, valuelist):
        self.data = str(valuelist[0])[:CURSOR_MAX] if valuelist else ""


class QueryForm(FlaskForm):
    """A list's query-string filters. A filter whose value cannot be used is ignored, not refused:
    its data is reset to its default and `ignored_titles()` names it, for the page to say so."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    def __init__(self, args=None, **kw):
        super().__init__(formdata=request.args if args is None else args, **kw)
        self.validate()
        self._ignored = [name for name in self.errors if name in self._fields]
        for name in self._ignored:
            field = self._fields[name]
            field.data = field.default() if callable(field.default) else field.default
            field.errors = []

    def ignored(self) -> list[str]:
        return list(self._ignored)

    def ignored_titles(self) -> list[str]:
        return [str(self._fields[name].label.text) for name in self._ignored]



def coerce_id(value):
    """SelectField coerce for a row id picked from a list: a bounded id, or a refusal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    parsed = parse_id(value)
    if parsed is None:
        raise ValueError(str(ID_MESSAGE))
    return parsed


def coerce_optional_id(value):
    """As coerce_id, with '' (the empty first choice) as None."""
    return None if value in (None, "") else coerce_id(value)


_YEAR_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
MONTH_MESSAGE = _l("Enter a month between 1900-01 and 2999-12, as YYYY-MM.")


def parse_month(raw) -> date | None:
    """YYYY-MM (the month's first day) within the calendar, else None."""
    m = _YEAR_MONTH.fullmatch(str(raw or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return parse_date(f"{m.group(1)}-{int(m.group(2)):02d}-01")


class MonthField(StringField):
    """YYYY-MM within the calendar, as the month's first day; an empty box is 'no value'."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_month(valuelist[0])
        if self.data is None:
            raise ValueError(str(MONTH_MESSAGE))

    def _value(self):
        return self.data.strftime("%Y-%m") if isinstance(self.data, date) else (self.raw_data or [""])[0]


NUMBER_MESSAGE = _l("Enter a number, e.g. 20000 or 20000.50.")
DECIMAL_MAX = Decimal(10) ** 12  # far above any fee or hour count, far below what NUMERIC columns refuse


def parse_decimal(raw) -> Decimal | None:
    """A finite decimal number of sensible size written plainly ('1e308', 'NaN', 'Infinity' are not), else None."""
    text = str(raw or "").strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,15}(\.[0-9]{1,6})?", text):
        return None
    value = Decimal(text)
    return value if abs(value) < DECIMAL_MAX else None


class BoundedDecimalField(DecimalField):
    """DecimalField without NaN, infinities and exponents (NaN makes every range check raise)."""

    def __init__(self, label=None, validators=None, message=None, **kw):
        super().__init__(label, validators, **kw)
        self.message = message or NUMBER_MESSAGE

    def process_formdata(self, valuelist):
        if not valuelist or str(valuelist[0]).strip() == "":
            self.data = None
            return
        self.data = parse_decimal(valuelist[0])
        if self.data is None:
            raise ValueError(str(self.message))
