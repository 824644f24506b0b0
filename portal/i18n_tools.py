"""`flask --app app i18n-update`: extract messages per area and merge them into each
area's zh_CN catalogue (portal/<area>/translations), keeping existing translations.
`python -m portal.i18n_tools` (run by ./setup.sh): compile every catalogue whose .mo is missing or older.

Area X covers portal/X/**.py and templates/X/**.html; the root catalogue
(portal/translations) covers portal/core, portal/*.py and templates/*.html.
"""
from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from portal.core.i18n import catalogues, stale_catalogues

PORTAL = Path(__file__).resolve().parent
ROOT = PORTAL.parent
TEMPLATES = ROOT / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None,
            "lazy_ngettext": (1, 2)}
AREAS = [p.name for p in sorted(PORTAL.iterdir()) if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"]


def _sources(area: str | None) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    if area is None:
        out += [("python", p) for p in (PORTAL / "core").rglob("*.py")]
        out += [("python", p) for p in PORTAL.glob("*.py")]
        out += [("jinja2", p) for p in TEMPLATES.glob("*.html")]
    else:
        out += [("python", p) for p in (PORTAL / area).rglob("*.py")]
        out += [("jinja2", p) for p in (TEMPLATES / area).rglob("*.html")]
    return out


def extract(area: str | None) -> Catalog:
    cat = Catalog(locale=None, project="portal")
    for method, path in _sources(area):
        opts = {"extensions": "jinja2.ext.do"} if method == "jinja2" else {}
        for lineno, msg, comments, context in extract_from_file(
            "jinja2" if method == "jinja2" else "python", str(path), keywords=KEYWORDS, options=opts
        ):
            cat.add(msg, None, [(str(path.relative_to(ROOT)), lineno)], auto_comments=comments, context=context)
    return cat


def po_path(area: str | None) -> Path:
    base = PORTAL / "translations" if area is None else PORTAL / area / "translations"
    return base / "zh_CN" / "LC_MESSAGES" / "messages.po"


def update(area: str | None) -> tuple[Path, int]:
    """Merge freshly extracted messages into the area's catalogue; return (path, untranslated count)."""
    template = extract(area)
    path = po_path(area)
    if path.exists():
        with path.open("rb") as f:
            cat = read_po(f, locale="zh_CN")
    else:
        cat = Catalog(locale="zh_CN", project="portal")
    if not len(template) and not path.exists():
        return path, 0
    cat.update(template, no_fuzzy_matching=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, cat, width=120, omit_header=False, ignore_obsolete=True, sort_output=True)
    return path, sum(1 for m in cat if m.id and not translated(m))


def translated(message) -> bool:
    s = message.string
    if isinstance(s, (tuple, list)):
        return bool(s) and all(s)
    return bool(s)


def update_all() -> list[tuple[Path, int]]:
    return [update(None)] + [update(a) for a in AREAS]


def compile_catalogues(root: Path = PORTAL) -> list[Path]:
    """Compile each .po whose .mo is missing or older; return the .mo files written."""
    written = []
    stale = set(stale_catalogues(root))
    for po, mo in catalogues(root):
        if po not in stale:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        mo.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)  # atomic: a portal starting meanwhile reads the old file or the new one, never half
        written.append(mo)
    return written


if __name__ == "__main__":
    done = compile_catalogues()
    print(f"translations: {len(done)} catalogue(s) compiled" if done else "translations: up to date")
