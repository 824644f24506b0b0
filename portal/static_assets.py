"""Responses compressed (Flask-Compress: zstd / brotli / gzip as the browser accepts), static files
cache-busted and cached.

Every `url_for('static', filename=…)` gets `?v=<content hash>`; a request carrying a `v` is answered
with `Cache-Control: public, max-age=<one year>, immutable`, so browsers never ask again until the file
(and so its URL) changes. Without `v` Flask's default applies (revalidate with the ETag).
"""
from __future__ import annotations

import functools
import hashlib
import os

from flask import Flask, request
from flask_compress import Compress
from werkzeug.security import safe_join

compress = Compress()
ONE_YEAR = 365 * 24 * 3600


@functools.lru_cache(maxsize=512)
def _digest(path: str, mtime_ns: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def static_version(static_folder: str, filename: str) -> str | None:
    path = safe_join(static_folder, filename)
    if path is None:
        return None
    try:
        return _digest(path, os.stat(path).st_mtime_ns)
    except OSError:
        return None


def init_app(app: Flask) -> None:
    compress.init_app(app)

    @app.url_defaults
    def _cache_bust(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _cache_static(response):
        if request.endpoint == "static" and request.args.get("v") and response.status_code in (200, 304):
            response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
        return response
