"""The fast path of the local_dt filter (portal.core.timeutil.format_local) prints exactly what Babel
prints, in every language the portal speaks, across Shanghai's daylight-saving years (1986–1991) too."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale, format_datetime

from portal.core.timeutil import format_local, to_local

PATTERNS = ["yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd", "MM-dd HH:mm", "HH:mm"]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_numeric_patterns_render_as_babel_renders_them(app, locale):
    with app.test_request_context("/"), force_locale(locale):
        at = datetime(1985, 1, 1)
        while at < datetime(2031, 1, 1):
            for pattern in PATTERNS:
                assert format_local(at, pattern) == format_datetime(to_local(at), pattern, rebase=False), (at, pattern)
            at += timedelta(hours=37, minutes=13, seconds=7)


def test_other_patterns_are_left_to_babel(app):
    assert format_local(datetime(2025, 5, 1), "yyyy年M月d日 EEEE") is None
    with app.test_request_context("/"), force_locale("zh_CN"):
        from portal.core.templating import local_dt

        assert local_dt(datetime(2025, 5, 1, 2), "M月d日 EEEE") == "5月1日 星期四"
        assert local_dt(datetime(2025, 5, 1, 2)) == "2025-05-01 10:00"
