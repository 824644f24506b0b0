"""Translations: zh_CN is the default; English is available per user.

Message ids are English; every area keeps its catalogue next to its code
(portal/<area>/translations), shared strings live in portal/translations.
The .po files are compiled to .mo at start-up when missing or older.
"""
from __future__ import annotations

import functools
from pathlib import Path

from flask_login import current_user

PORTAL = Path(__file__).resolve().parent.parent
SUPPORTED = ("zh_CN", "en")


def directories() -> str:
    dirs = [PORTAL / "translations"] + sorted(p for p in PORTAL.glob("*/translations") if p.is_dir())
    return ";".join(str(d) for d in dirs)


def compile_catalogs(app=None) -> None:
    from babel import Locale
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in PORTAL.glob("**/translations/*/LC_MESSAGES/messages.po"):
        # Babel parses zh_CN as zh_Hans_CN and Flask-Babel looks in the folder of that name;
        # the .po stays under the familiar zh_CN, its compiled .mo goes where it is looked for.
        mo = po.parents[2] / str(Locale.parse(po.parents[1].name)) / "LC_MESSAGES" / "messages.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)  # atomic: several workers may start at once


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
    from babel import Locale

    return Locale.parse(name)
