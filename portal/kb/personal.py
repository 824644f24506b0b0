"""Removing a customer's personal data from a ticket's text before it becomes a knowledge article (PIPL:
an article is read by people who never see the ticket).

Replaced by a placeholder: e-mail addresses (【邮箱】); anything that looks like a phone number — mainland
mobiles (with or without +86 and separators), landlines with an area code (and an extension: 转 / - / ext),
400 / 800 numbers — and the phone numbers the unit's contacts and the ticket hold (【电话】); the names of the
unit's contacts and of the ticket's reporter (【姓名】). The author is shown what was removed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

PHONE = "【电话】"
EMAIL = "【邮箱】"
NAME = "【姓名】"

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_SEP = r"[\s\-－—.·]?"
_EXT = r"(?:\s*(?:转|分机|ext\.?|x|-|－)\s*\d{1,6})?"
PHONE_RES = (
    # mobile: 13800138000, +86 138-0013-8000, 86 138 0013 8000
    re.compile(rf"(?<![\dA-Za-z])(?:(?:\+|00)?86{_SEP})?1[3-9]\d{_SEP}\d{{4}}{_SEP}\d{{4}}(?!\d)"),
    # 400 / 800 service numbers: 400-820-1234, 8008201234
    re.compile(rf"(?<![\dA-Za-z])[48]00{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)"),
    # landline with area code and optional extension: 010-88886666 转 123, (0755)8888-6666, 0571 8888666-12
    re.compile(rf"(?<![\dA-Za-z])(?:\+?86{_SEP})?(?:\(0\d{{2,3}}\)|（0\d{{2,3}}）|0\d{{2,3}})\s*-?\s*"
               rf"\d{{3,4}}{_SEP}\d{{4}}{_EXT}(?!\d)"),
)
MIN_NAME = 2  # a one-character "name" would eat ordinary words


@dataclass
class Removed:
    kind: str  # "phone" | "email" | "name"
    text: str  # what was removed (masked by the caller when the author may not see it)

    @property
    def title(self):
        return {"phone": _l("Phone number"), "email": _l("E-mail address"), "name": _l("Name")}[self.kind]


@dataclass
class Stripper:
    """What to remove beyond the patterns: the unit's contacts' and the reporter's names and numbers."""

    names: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    removed: list[Removed] = field(default_factory=list)

    def _note(self, kind: str, text: str) -> None:
        if not any(r.kind == kind and r.text == text for r in self.removed):
            self.removed.append(Removed(kind, text))

    def strip(self, text: str | None) -> str:
        text = text or ""
        if not text:
            return ""

        def sub(kind, placeholder):
            def replace(m):
                self._note(kind, m.group(0).strip())
                return placeholder
            return replace

        text = EMAIL_RE.sub(sub("email", EMAIL), text)
        for number in sorted(self.numbers, key=len, reverse=True):
            if len(number) >= 5 and number in text:
                self._note("phone", number)
                text = text.replace(number, PHONE)
        for pattern in PHONE_RES:
            text = pattern.sub(sub("phone", PHONE), text)
        for name in sorted(self.names, key=len, reverse=True):
            if name in text:
                self._note("name", name)
                text = text.replace(name, NAME)
        return text


def _forms(number: str) -> set[str]:
    """A known number as it may be written: as stored, digits only, and a landline without its area code."""
    number = number.strip()
    if "@" in number:  # an e-mail address: only as it is
        return {number}
    out = {number, re.sub(r"\D", "", number)}
    if re.match(r"^0\d{2,3}-", number):
        out.add(number.split("-", 2)[1])
    return {n for n in out if n}


def stripper_for(names, numbers) -> Stripper:
    """`numbers`: the known phone numbers (and e-mail addresses) of the unit's contacts and the reporter."""
    return Stripper(names={n.strip() for n in names if n and len(n.strip()) >= MIN_NAME},
                    numbers={f for n in numbers if n and n.strip() for f in _forms(n)})
