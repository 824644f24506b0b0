"""HTML → PDF with WeasyPrint, fetching nothing but the packaged font.

Every URL a document mentions — images, stylesheets, CSS url(), fonts — goes through
`PackagedAssetsFetcher`, which serves the shipped CJK font from static/fonts and refuses
everything else (file:, http:, data: …) before anything is opened. The font is embedded
(subsetted) into each PDF, so a letter reads the same on a machine without Chinese fonts.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

ROOT = Path(__file__).resolve().parents[2]
FONT_PATH = ROOT / "static" / "fonts" / "NotoSansSC-Portal-Regular.otf"
FONT_URL = "portal-asset:fonts/NotoSansSC-Portal-Regular.otf"  # the one name the templates use
FONT_FAMILY = "PortalSansSC"
ASSETS = {FONT_URL: (FONT_PATH, "font/otf")}

log = logging.getLogger(__name__)


class BlockedURL(ValueError):
    """A document asked for something that is not a packaged asset."""


class PackagedAssetsFetcher(URLFetcher):
    """Serves the packaged assets by their fixed names; refuses every other URL."""

    def __init__(self):
        super().__init__(allowed_protocols=())  # nothing may reach urllib, whatever happens
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        asset = ASSETS.get(url)
        if asset is None:
            self.refused.append(url)
            log.info("document renderer refused %s", url[:200])
            raise BlockedURL(f"not a packaged asset: {url[:200]}")
        path, mime = asset
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})


# One weight only (a bold face would double the shipped font): the templates emphasise by size
# and rules, never by font-weight, and nothing falls back to a system font.
FONT_CSS = f"""
@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{FONT_URL}"); font-weight: normal; font-style: normal; }}
* {{ font-weight: normal !important; font-style: normal !important; }}
"""


@dataclass
class Rendered:
    pdf: bytes
    pages: int
    refused: list[str]


def render_pdf(html: str) -> Rendered:
    """Render an HTML string (already escaped by Jinja) to PDF bytes."""
    fetcher = PackagedAssetsFetcher()
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    pdf = document.write_pdf()
    return Rendered(pdf=pdf, pages=len(document.pages), refused=fetcher.refused)
