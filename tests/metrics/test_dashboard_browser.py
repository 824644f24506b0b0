"""The dashboard in Chromium at 1366×768: Chinese text, four legible charts, nothing wider than the
window, no console errors, every number a link, the filters working through htmx. Leaves screenshots
in test-artifacts/screens/. Playwright runs in a process of its own (browser_check.py)."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, ROOT, require_or_skip

SCREENS = ROOT / "test-artifacts" / "screens"


@pytest.fixture
def live_server(app):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    before = app.config.get("WTF_CSRF_ENABLED")
    app.config["WTF_CSRF_ENABLED"] = True  # as in production
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    app.config["WTF_CSRF_ENABLED"] = before


def test_the_dashboard_fits_1366x768_in_chinese_with_its_charts(sept, live_server):
    require_or_skip(Path("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing (apt-get install chromium)")
    from portal.extensions import db

    db.session.commit()
    db.session.close()  # the live server's requests must not wait for this test's transaction
    SCREENS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, str(Path(__file__).with_name("browser_check.py")), live_server, "admin",
                          PASSWORD, str(SCREENS)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert not seen["problems"], seen["problems"]
    assert seen["scroll_width"] <= 1366
    assert "服务指标 · 2025年9月" in seen["h1"]
    assert len(seen["charts"]) >= 4  # a fifth, the promises kept, once any area declares a service-level clock
    for box in seen["charts"][:4]:
        assert box["width"] >= 250 and box["y"] + box["height"] <= 768, "the charts show without scrolling"
    assert seen["tiles"] == 12 and seen["missed"] >= 1 and seen["linked_values"] >= 9  # 11 figures + the KB tile
    assert seen["title_width"] > 40  # CJK glyphs render: four characters are that wide
    assert "level=vip" in seen["url_after_filter"] and "VIP维护" in seen["h1_after_filter"]
