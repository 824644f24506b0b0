"""`python -m portal.documents.make_font [source.ttc]`: rebuild the CJK font the letters embed.

The portal ships static/fonts/NotoSansSC-Portal-Regular.otf so that a PDF renders the same on
any machine, with or without Chinese fonts installed. It is a subset of Noto Sans CJK SC Regular
(SIL Open Font License 1.1, text in static/fonts/OFL.txt): every GB2312 character, ASCII, Latin-1,
general and CJK punctuation, fullwidth forms and the check boxes (■ □ ☑) of the fax form — about
7,500 characters in 3 MB instead of 19 MB. Hinting is dropped (print only).
Source: Debian's fonts-noto-cjk (/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc, face 2 = SC).
"""
from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SC_FACE = 2  # JP, KR, SC, TC, HK, …
TARGET = Path(__file__).resolve().parents[2] / "static" / "fonts" / "NotoSansSC-Portal-Regular.otf"
EXTRA_RANGES = [
    (0x0020, 0x007E), (0x00A0, 0x00FF), (0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF),
    (0x2460, 0x24FF), (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2713, 0x2714), (0x3000, 0x303F), (0xFF00, 0xFFEF),
]


def gb2312_characters() -> set[str]:
    chars = set()
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes([lead, trail]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def build(source: str = SOURCE, target: Path = TARGET) -> Path:
    font = TTCollection(source).fonts[SC_FACE]
    unicodes = {ord(c) for c in gb2312_characters()}
    for lo, hi in EXTRA_RANGES:
        unicodes.update(range(lo, hi + 1))
    options = subset.Options()
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(target))
    return target


if __name__ == "__main__":
    path = build(*(sys.argv[1:2] or [SOURCE]))
    print(f"{path} {path.stat().st_size} bytes")
