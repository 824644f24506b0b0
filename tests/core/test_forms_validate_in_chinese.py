"""The portal validates its forms itself, in Chinese: every form carries `novalidate`, so the browser never
stops a submit with its own English bubble ("Please fill out this field.") before the server's message."""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
FORM_TAG = re.compile(r"<form\b[^>]*>", re.S)


def test_every_form_in_every_template_has_novalidate():
    missing = [f"{path.relative_to(TEMPLATES)}: {tag[:80]}"
               for path in sorted(TEMPLATES.rglob("*.html"))
               for tag in FORM_TAG.findall(path.read_text(encoding="utf-8"))
               if not re.search(r"\snovalidate\b", tag)]
    assert not missing, "forms without novalidate:\n  " + "\n  ".join(missing)
