"""Configuration, read only from the environment.

DATABASE_URL  default: SQLite file in the instance folder (WAL mode)
REDIS_URL     default: an embedded redis-server in the instance folder (portal/core/embedded_redis.py)
SECRET_KEY    default: generated once and kept in the instance folder
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

# What an on-site visit checks, per origin (portal/visits): the maintenance visit's promised work (数据库清理、
# 备份检查、安全检查、巡检) and a ticket visit's steps. Data, not code: an instance replaces them with
# instance/visit_checklists.json or VISIT_CHECKLISTS_JSON (same shape); a visit keeps the list it started with.
DEFAULT_VISIT_CHECKLISTS = {
    "plan": [
        {"key": "db_cleanup", "label": "数据库清理"},
        {"key": "backup_check", "label": "备份检查"},
        {"key": "security_check", "label": "安全检查"},
        {"key": "inspection", "label": "系统巡检"},
    ],
    "ticket": [
        {"key": "diagnose", "label": "现场排查问题"},
        {"key": "fix", "label": "处理并验证结果"},
        {"key": "explain", "label": "向用户说明原因与处理结果"},
    ],
}


def _secret_key(instance_path: Path) -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting together must not write two keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_path / 'portal.db'}"
    # Accept the short forms people paste from their hosting panel.
    if url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _visit_checklists(instance_path: Path) -> dict:
    raw = os.environ.get("VISIT_CHECKLISTS_JSON")
    if not raw and (instance_path / "visit_checklists.json").exists():
        raw = (instance_path / "visit_checklists.json").read_text(encoding="utf-8")
    if not raw:
        return DEFAULT_VISIT_CHECKLISTS
    loaded = json.loads(raw)
    out = dict(DEFAULT_VISIT_CHECKLISTS)
    for origin, items in loaded.items():
        out[origin] = [{"key": str(i["key"])[:40], "label": str(i["label"])[:100]} for i in items]
    return out


def load_config(instance_path: str) -> dict:
    path = Path(instance_path)
    path.mkdir(parents=True, exist_ok=True)
    upload_dir = Path(os.environ.get("UPLOAD_DIR", path / "uploads"))
    upload_dir.mkdir(parents=True, exist_ok=True)
    return {
        "SECRET_KEY": _secret_key(path),
        "SQLALCHEMY_DATABASE_URI": _database_url(path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "EMBEDDED_REDIS_DIR": str(path),
        "UPLOAD_DIR": str(upload_dir),
        # One request may carry several attachments; each file is checked against
        # MAX_FILE_BYTES, the whole body against MAX_CONTENT_LENGTH (→ 413).
        "MAX_FILE_BYTES": int(os.environ.get("MAX_FILE_BYTES", 10 * 1024 * 1024)),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 40 * 1024 * 1024)),
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; staff keep pages open all day
        "LOGIN_LIMIT_PER_USER": os.environ.get("LOGIN_LIMIT_PER_USER", "5 per minute;20 per hour"),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "30 per minute;200 per hour"),
        "PAGE_SIZE": 50,
        "VISIT_CHECKLISTS": _visit_checklists(path),
        # Links in e-mails and group-robot messages are absolute: a mail client has no "current site".
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '5000')}")
        .rstrip("/"),
    }
