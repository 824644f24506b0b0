"""portal.core.params: the one bounded way numbers and dates get in."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from portal.core.params import (DATE_MAX, DATE_MIN, ID_MAX, in_calendar, parse_date, parse_decimal, parse_id,
                                parse_int, parse_month)


@pytest.mark.parametrize("raw,expected", [
    ("1", 1), (" 42 ", 42), (str(ID_MAX), ID_MAX), (7, 7),
    (str(ID_MAX + 1), None), ("0", None), ("-1", None), ("99999999999999999999999", None), ("9" * 5000, None),
    ("1_000", None), ("١٢٣", None), ("１２", None), ("0x10", None), ("1.0", None), ("1e3", None), ("", None),
    (None, None), (True, None), ("\x00", None), ("+1", None),
])
def test_an_id_is_ascii_digits_within_one_and_the_narrowest_integer_column(raw, expected):
    assert parse_id(raw) == expected


def test_parse_int_takes_a_sign_and_its_bounds():
    assert parse_int("-5", -10, 10) == -5
    assert parse_int("-11", -10, 10) is None
    assert parse_int("--1", -10, 10) is None


@pytest.mark.parametrize("raw,expected", [
    ("2026-03-02", date(2026, 3, 2)), ("1900-01-01", DATE_MIN), ("2999-12-31", DATE_MAX),
    ("1899-12-31", None), ("3000-01-01", None), ("9999-12-31", None), ("0001-01-01", None), ("0000-01-01", None),
    ("10000-01-01", None), ("2026-02-30", None), ("2026-1-1", None), ("20260101", None), ("", None),
    ("２０２６-０１-０１", None), ("2026-01-01T00:00", None),
])
def test_a_date_is_iso_and_within_the_calendar_the_portal_computes_with(raw, expected):
    assert parse_date(raw) == expected


def test_a_day_either_side_of_the_calendar_still_fits_python():
    from datetime import timedelta

    assert DATE_MIN - timedelta(days=1) and DATE_MAX + timedelta(days=31)
    assert in_calendar(datetime(2026, 1, 1, 8)) and not in_calendar(datetime(9999, 12, 31))


@pytest.mark.parametrize("raw,expected", [("2026-07", date(2026, 7, 1)), ("2026-7", date(2026, 7, 1)),
                                          ("9999-12", None), ("2026-13", None), ("2026-00", None), ("x", None)])
def test_a_month(raw, expected):
    assert parse_month(raw) == expected


@pytest.mark.parametrize("raw,expected", [("20000", Decimal("20000")), ("20000.50", Decimal("20000.50")),
                                          ("-1", Decimal("-1")), ("NaN", None), ("sNaN", None), ("Infinity", None),
                                          ("1e308", None), ("9" * 20, None), ("", None)])
def test_a_decimal_is_plain_finite_and_of_sensible_size(raw, expected):
    assert parse_decimal(raw) == expected


def test_an_int_path_parameter_past_the_column_is_no_route(app):
    adapter = app.url_map.bind("localhost")
    assert adapter.match("/customers/12")[1] == {"unit_id": 12}
    for bad in (str(ID_MAX + 1), "99999999999999999999", "0", "9" * 5000):
        with pytest.raises(Exception) as e:
            adapter.match(f"/customers/{bad}")
        assert getattr(e.value, "code", None) == 404, bad
