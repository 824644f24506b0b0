"""Translations: zh_CN is the default; English is available per user.

Message ids are English; every area keeps its catalogue next to its code
(portal/<area>/translations), shared strings live in portal/translations.
The .po files are compiled to .mo by ./setup.sh (portal/i18n_tools.py); the app only loads them, and says
so once in the log when one is missing or older than its .po.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

from babel import Locale
from flask_login import current_user

PORTAL = Path(__file__).resolve().parent.parent
SUPPORTED = ("zh_CN", "en")
log = logging.getLogger(__name__)


def directories() -> str:
    dirs = [PORTAL / "translations"] + sorted(p for p in PORTAL.glob("*/translations") if p.is_dir())
    return ";".join(str(d) for d in dirs)


def catalogues(root: Path = PORTAL) -> list[tuple[Path, Path]]:
    """Every (.po, .mo it compiles to) under `root`. Babel parses zh_CN as zh_Hans_CN and Flask-Babel looks in
    the folder of that name: the .po stays under the familiar zh_CN, its .mo goes where it is looked for."""
    out = []
    for po in sorted(root.glob("**/translations/*/LC_MESSAGES/messages.po")):
        out.append((po, po.parents[2] / str(_parsed(po.parents[1].name)) / "LC_MESSAGES" / "messages.mo"))
    return out


def stale_catalogues(root: Path = PORTAL) -> list[Path]:
    """The .po files whose .mo is missing or older (the app would show their messages in English)."""
    return [po for po, mo in catalogues(root) if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime]


def warn_if_not_compiled(root: Path = PORTAL) -> list[Path]:
    stale = stale_catalogues(root)
    if stale:
        log.warning("%d translation catalogue(s) not compiled or older than their .po — their messages will show "
                    "in English until ./setup.sh (or `python -m portal.i18n_tools`) compiles them: %s",
                    len(stale), ", ".join(str(p.relative_to(root)) for p in stale))
    return stale


def select_locale():
    """The request's locale, as a parsed babel Locale: Flask-Babel would otherwise parse the name on every
    request, and parsing "zh_CN" (stored as zh_Hans_CN) scans all of Babel's locale names — about a
    millisecond of each page."""
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in SUPPORTED:
            return _parsed(current_user.locale)
    return _parsed("zh_CN")


@functools.lru_cache(maxsize=None)
def _parsed(name: str):
    return Locale.parse(name)
