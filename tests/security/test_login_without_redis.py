"""Redis stopped: staff can still sign in (the login throttle falls back to counting in the process's
memory until Redis is back), and the throttle still counts failed attempts meanwhile.

Run in a process of its own: the suite's login throttle is bound to the suite's Redis, and this test
needs a portal whose every Redis use points at a server it can stop."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.conftest import ROOT, require_or_skip

SCRIPT = r"""
import json, os, sys
sys.path.insert(0, os.getcwd())
from tests.security.test_bad_day import RedisServer

server = RedisServer(sys.argv[1])
server.start()
os.environ.pop("DATABASE_URL", None)
os.environ["INSTANCE_PATH"] = sys.argv[2]
os.environ["REDIS_URL"] = f"redis://127.0.0.1:{server.port}/0"
os.environ["LOGIN_LIMIT_PER_USER"] = "3 per minute"
from flask_migrate import upgrade
from portal import create_app
from portal.auth.operations import create_user
from portal.core.enums import Role
from portal.extensions import db

app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "FAST_PASSWORD_HASHING": True})
with app.app_context():
    upgrade()
    create_user("cs1", "right-pass-2026", "王芳", [Role.CS], "cs")
    db.session.commit()
out = {}
def login(password):
    c = app.test_client()
    return c.post("/login", data={"username": "cs1", "password": password}).status_code
out["with_redis"] = login("right-pass-2026")
server.stop()
out["without_redis"] = login("right-pass-2026")
out["wrong_without_redis"] = [login("wrong-pass") for _ in range(4)]
print(json.dumps(out))
"""


def test_with_redis_stopped_staff_still_sign_in_and_failed_logins_are_still_throttled(tmp_path):
    require_or_skip(shutil.which("redis-server") is not None, "redis-server is not installed")
    (tmp_path / "redis").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    r = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "redis"), str(tmp_path / "instance")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["with_redis"] == 302 and out["without_redis"] == 302
    assert out["wrong_without_redis"][:3] == [401, 401, 401]  # the login page again, with its message
    assert out["wrong_without_redis"][3] == 429
