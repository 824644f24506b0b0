"""The portal's htmx layer, on flask-htmx: which requests want what, and the response headers that steer the
browser. Nothing else reads or writes an HX-* header (Vary: HX-Request is added for every response in
portal.core.security)."""
from __future__ import annotations

from flask import Response
from flask_htmx import make_response
from flask_htmx.constants import HTMX_STOP_POLLING

from portal.extensions import htmx

STOP_POLLING = HTMX_STOP_POLLING  # a polling element stops on this status (286)
VARY = "HX-Request"  # page and fragment of one URL differ only by this header


def is_htmx_request() -> bool:
    """Sent by htmx at all — boosted links and history restores included. Ask this when the browser must be
    told something in a header (a redirect: the XMLHttpRequest would otherwise follow a 302 silently)."""
    return bool(htmx)


def is_fragment_request() -> bool:
    """An htmx request that wants only a part of the page: not a boosted navigation and not a history
    restore, both of which swap the whole body and so need the whole page."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def redirect(location: str, status: int = 200) -> Response:
    """Make htmx load `location` as a whole page (HX-Redirect), instead of swapping it into a region."""
    return make_response("", status, redirect=location)


def response(*args, **headers) -> Response:
    """flask.make_response with htmx's response headers as keywords: trigger="event" (other regions refresh
    themselves on it), redirect=, refresh=True, retarget=, reswap=…"""
    return make_response(*args, **headers)
