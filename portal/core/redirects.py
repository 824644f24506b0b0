"""The one check for every redirect whose target comes from the user (`next=` at login, `go=` on a
notification, …): only a path on this site, else the caller's safe default — never a 500.

Browsers are lenient in ways a plain "starts with /" test misses: they drop tabs and newlines inside a
URL (`/\t/evil.com` is `//evil.com`), read `\\` as `/`, and a proxy or a later decode may turn `%2F` into
`/`. So the target is refused when it, or any of its percent-decodings, or its NFKC form (fullwidth
`／` becomes `/`), could be read as anything but a single-slash path without scheme or host."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

from werkzeug.urls import iri_to_uri

MAX_LENGTH = 2000
_PATH_END = re.compile(r"[?#]")


def _is_plain_path(text: str) -> bool:
    if not text.startswith("/") or text.startswith("//"):
        return False
    # A backslash is a slash to browsers, but only in the path: a search for C:\data in the query is harmless.
    if "\\" in _path_part(text):
        return False
    # Control characters (tab, CR, LF, NUL, DEL, C1), format characters (bidi overrides, zero-width)
    # and whitespace other than a plain space: browsers strip or misread them, a header cannot carry CR/LF.
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or (ch.isspace() and ch != " ") for ch in text):
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc


def _path_part(text: str) -> str:
    return _PATH_END.split(text, maxsplit=1)[0]


def safe_redirect_target(target: object, default: str) -> str:
    """`target` if it is a same-site path ("/tickets?state=assigned"), otherwise `default`."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return default
    if not _is_plain_path(target) or not _is_plain_path(unicodedata.normalize("NFKC", target)):
        return default
    # The path decoded (a proxy or a framework may decode %2F, %5C, %09 before a browser sees it); a doubly
    # encoded %252F is a %2F after one decode, so look a few layers down. The query is data: left alone.
    seen = _path_part(target)
    for _ in range(3):
        decoded = unquote(seen)
        if decoded == seen:
            break
        if not all(_is_plain_path(form) for form in (decoded, unicodedata.normalize("NFKC", decoded))):
            return default
        seen = decoded
    else:
        return default  # still encoded after three layers: no real link of ours looks like that
    uri = iri_to_uri(target)  # non-ASCII characters percent-encoded: a header holds only ASCII
    return uri if _is_plain_path(uri) else default
