"""The promises kept on the dashboard in Chromium at 1366×768, as the development manager (their department)
and as an administrator (the whole company): Chinese, nothing wider than the window, the 24-hour tile leads to
exactly the tickets that broke it. Leaves screenshots in test-artifacts/screens/compliance-*.png."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import PASSWORD, ROOT, require_or_skip
from tests.metrics.test_dashboard_browser import SCREENS, live_server  # noqa: F401 (a fixture)


def test_compliance_section_as_dev_manager_and_admin(promised, live_server):  # noqa: F811
    require_or_skip(Path("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing (apt-get install chromium)")
    from portal.extensions import db

    numbers = {k: getattr(promised, k).number for k in ("T2", "T3", "T5")}
    db.session.commit()
    db.session.close()  # the live server's requests must not wait for this test's transaction
    SCREENS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("browser_check_compliance.py")), live_server,
                          PASSWORD, str(SCREENS), "dev_manager", "admin"],
                         capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert not seen["problems"], seen["problems"]
    admin, dev = seen["admin"], seen["dev_manager"]
    for who in (admin, dev):
        assert who["scroll_width"] <= 1366 and who["section_width"] <= 1366
        assert "服务时限达成" in who["table"] or "上门" in who["table"]
        assert who["charts"] == 4 + 5  # the four figures charts, one per promise
    assert "50.0%" in admin["tiles"]["tile-clock_onsite_24h"] and "目标100.0%" in admin["tiles"]["tile-clock_onsite_24h"]
    assert "33.3%" in dev["tiles"]["tile-clock_onsite_24h"]  # development only: 1 of 3
    assert "VIP维护" in admin["table"] and "实施部" in admin["table"]
    assert "实施部" not in dev["table"]
    for who in (admin, dev):
        assert numbers["T2"] in who["list_text"] and numbers["T3"] in who["list_text"]
        assert numbers["T5"] not in who["list_text"]
        assert who["list_rows"] == 2
