"""A bad day's load: every role at once against the portal under gunicorn (bench/load_test.py, bounded small).

The script starts gunicorn (3 workers) and an RQ worker as production does, on the suite's kind of database:
a fresh SQLite instance with the embedded Redis, or the suite's PostgreSQL database and Redis when
DATABASE_URL / REDIS_URL name them (emptied by the autouse fixture before this test). Six users (cs,
dev_manager, engineer, market_manager, impl_manager, impl_engineer) take 25 actions each through the real
forms, some posted twice at once or again with a stale version. Timings are printed, never asserted.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def run_load(tmp_path) -> tuple[dict, str]:
    env = dict(os.environ, INSTANCE_PATH=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
    if not os.environ.get("DATABASE_URL"):
        env.pop("REDIS_URL", None)  # SQLite: a fresh instance with its own embedded Redis
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load_test.py"), "--clients", "6", "--actions", "25", "--seconds", "90",
         "--workers", "3", "--race-rate", "0.3", "--stale-rate", "0.3", "--seed", "8", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    printed = proc.stdout[-6000:] + proc.stderr[-3000:]
    assert out.exists(), f"the load script did not finish (exit {proc.returncode}):\n{printed}"
    summary = json.loads(out.read_text())
    assert (proc.returncode == 1) == summary["failed"], printed
    return summary, printed


def test_all_roles_at_once_get_no_5xx_no_lock_error_lose_no_update_and_leave_consistent_histories(app, tmp_path):
    summary, printed = run_load(tmp_path)
    checks = summary["checks"]
    # The load really happened: every client logged in, tickets were registered and moved on.
    assert checks["clients that could not log in"] == 0, printed
    assert summary["registered"] > 0 and summary["successes"] > summary["registered"], printed
    assert summary["races"] + summary["stale"] > 0, "some actions raced on the same ticket version\n" + printed
    # What must hold.
    assert checks["5xx responses"] == 0, printed
    assert checks["connection errors"] == 0, printed
    assert checks['"database is locked" in the server log'] == 0, printed
    assert checks["tracebacks in the server log"] == 0, printed
    assert checks["lost or duplicated updates"] == 0, printed
    assert checks["writes behind a refusal (4xx)"] == 0, printed
    assert checks["races won twice"] == 0, printed
    assert checks["stale forms not refused with 409"] == 0, printed
    assert checks["history problems (check-history)"] == 0, printed
    assert not summary["failed"], printed
