"""Chinese is the default language (SPEC §7): every message in code and templates has a zh_CN translation."""
from __future__ import annotations

import logging
import os
import shutil
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from portal.core.i18n import PORTAL, directories, stale_catalogues, warn_if_not_compiled
from portal.i18n_tools import AREAS, compile_catalogues, extract


def _merged_zh_cn() -> Translations:
    """All catalogues merged in the order the app loads them (a later one wins on a shared msgid).
    Built from the .po files, so it does not depend on compiled .mo files."""
    merged = Translations()
    for d in directories().split(";"):
        po = Path(d) / "zh_CN" / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale="zh_CN")
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        merged.merge(Translations(fp=buf))
    return merged


def _has_translation(t: Translations, msgid) -> bool:
    if isinstance(msgid, (tuple, list)):
        return bool(t._catalog.get((msgid[0], 0)))
    return bool(t._catalog.get(msgid))


def test_every_message_has_a_zh_cn_translation():
    t = _merged_zh_cn()
    missing: dict[str, list[str]] = {}
    for area in [None, *AREAS]:
        for m in extract(area):
            if m.id and not _has_translation(t, m.id):
                where = ", ".join(f"{p}:{n}" for p, n in m.locations[:2])
                missing.setdefault(area or "core", []).append(f"{m.id!r} ({where})")
    report = "\n".join(f"[{a}] {len(ms)} missing:\n  " + "\n  ".join(ms) for a, ms in missing.items())
    assert not missing, "untranslated zh_CN messages — run `flask --app app i18n-update` and fill msgstr:\n" + report


def test_pages_render_in_chinese_by_default(client):
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in body
    assert "登录" in body and "Sign in" not in body


def test_a_msgid_shared_by_catalogues_has_one_translation():
    # The app merges all catalogues into one: on a shared msgid the last directory silently wins,
    # so "Users" (nav) and "Users" (a customer's user count) cannot mean two things.
    seen: dict[str, dict[str, str]] = {}
    for d in directories().split(";"):
        po = Path(d) / "zh_CN" / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        area = "core" if Path(d).parent.name == "portal" else Path(d).parent.name
        with po.open("rb") as f:
            for m in read_po(f, locale="zh_CN"):
                if m.id and m.string and isinstance(m.id, str):
                    seen.setdefault(m.id, {})[area] = m.string
    clashes = {mid: by for mid, by in seen.items() if len(set(by.values())) > 1}
    assert not clashes, "same msgid, different Chinese (use a distinct English msgid):\n" + "\n".join(
        f"  {mid!r}: {by}" for mid, by in sorted(clashes.items()))


def _one_area_tree(tmp_path: Path) -> tuple[Path, Path]:
    po = tmp_path / "area" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(PORTAL / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po", po)
    return po, tmp_path / "area" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo"


def test_setup_compiles_a_missing_or_changed_catalogue_and_leaves_a_current_one(tmp_path):
    po, mo = _one_area_tree(tmp_path)
    assert compile_catalogues(tmp_path) == [mo] and mo.exists()
    assert compile_catalogues(tmp_path) == []  # up to date: nothing to do
    earlier = po.stat().st_mtime - 5
    os.utime(mo, (earlier, earlier))  # the .po edited after the last compile
    assert compile_catalogues(tmp_path) == [mo] and mo.stat().st_mtime >= po.stat().st_mtime


def test_start_up_says_once_which_catalogues_are_not_compiled(tmp_path, caplog, monkeypatch):
    # Alembic's fileConfig (migrations/env.py, run in this process by the app fixture) disables loggers that
    # already exist; a portal process that only serves never runs it.
    monkeypatch.setattr(logging.getLogger("portal.core.i18n"), "disabled", False)
    po, mo = _one_area_tree(tmp_path)
    with caplog.at_level(logging.WARNING, logger="portal.core.i18n"):
        assert warn_if_not_compiled(tmp_path) == [po]
    assert len(caplog.records) == 1 and "area/translations/zh_CN" in caplog.records[0].getMessage()
    compile_catalogues(tmp_path)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="portal.core.i18n"):
        assert warn_if_not_compiled(tmp_path) == []
    assert not caplog.records


def test_the_portal_finds_every_catalogue_compiled():
    # setup.sh (which test.sh runs) compiled them; the app itself never writes into the source tree.
    assert stale_catalogues() == []
