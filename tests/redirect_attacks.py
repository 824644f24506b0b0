"""Open-redirect attempts shared by the `next=` (login) and `go=` (notifications) tests: each must leave
the user on this site (portal/core/redirects.py decides), and none may cause a 5xx."""
from __future__ import annotations

from urllib.parse import urlsplit

# Every one of these must fall back to the page's safe default.
OFF_SITE = [
    "//evil.com", "/\\evil.com", "\\/evil.com", "/\t/evil.com", "https:evil.com", "///evil.com",
    "/%2F%2Fevil.com", "/%09/evil.com", "javascript:alert(1)", "ja\tvascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "//evil.com@good.example",
    "http://evil.com", "HTTPS://evil.com", "http:/evil.com", "/\\/evil.com", "%2F%2Fevil.com", "\\\\evil.com",
    "evil.com", "/\r\n/evil.com", "/\r/evil.com", "/\n/evil.com", "/x\r\nLocation: //evil.com",
    "%0D%0A//evil.com", "/%0D%0A/evil.com", "\uff0f\uff0fevil.com", "/\uff0fevil.com", "/%5Cevil.com",
    "/%5C%5Cevil.com", "/%252F%252Fevil.com", " //evil.com", "\t//evil.com", "/\x00/evil.com",
    "/\u2028/evil.com", "/\u202e/evil.com", "/%E2%80%A8/evil.com", "/%EF%BC%8F/evil.com",
]
# Odd-looking but on this site: kept as they are (a 404 of ours at worst).
ON_SITE = {
    "/.evil.com?": "/.evil.com",
    "/tickets?state=assigned": "/tickets?state=assigned",
    "/search?q=C:\\data": "/search?q=C:%5Cdata",
    "/customers/\u5ba2\u670d": "/customers/%E5%AE%A2%E6%9C%8D",
}


def assert_stays_on_site(response, default: str, target: str) -> None:
    if "\x00" in target and response.status_code == 400:
        # A NUL anywhere in a request is refused outright (portal/core/params.py): no redirect at all.
        assert "Location" not in response.headers, target
        return
    assert response.status_code in (302, 303), (target, response.status_code)
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), (target, location)
    assert parts.path.startswith("/") and not parts.path.startswith("//"), (target, location)
    if target in ON_SITE:
        assert location == ON_SITE[target], (target, location)
    else:
        assert location == default, (target, location)
