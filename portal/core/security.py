"""Security plumbing that every request shares: headers, error pages (the user loader is the auth area's)."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import InternalServerError

from portal.core import htmx
from portal.core.database import committed_in_this_request
from portal.core.redirects import safe_redirect_target
from portal.extensions import db, login_manager

log = logging.getLogger(__name__)




# An htmx answer with this header is an error about the request itself (expired form, no permission, too
# large, server trouble), not a new state of the region it targets: static/js/portal.js shows its message
# where the clerk clicked instead of swapping it in. "expired-form" asks the page to reload (a new token)
# and put back what was typed. Routes' own 409/422 fragments carry no such header and are swapped as usual.
ERROR_HEADER = "X-Portal-Error"


def error_response(status: int, message: str, kind: str = "message"):
    if htmx.is_fragment_request():  # a boosted navigation or history restore swaps the body: it gets the page
        resp = app_response(render_template("_error_fragment.html", message=message, status=status), status)
        resp.headers[ERROR_HEADER] = kind
        return resp
    return render_template("error.html", message=message, status=status), status


def standalone_error(status: int, lazy_message):
    """An error page that needs no database: for the database being unreachable (PostgreSQL restarted,
    connections cut, SQLite locked too long) or an unexpected error. The request's transaction is
    rolled back; nothing here loads the user or any row (their objects may be unusable now), and the
    page is in the signed-in user's language only if it is already known without a query."""
    user = g.get("_login_user")
    locale = (getattr(user, "__dict__", {}) or {}).get("locale") or "zh_CN"
    g._login_user = login_manager.anonymous_user()  # the templates must not ask the database who this is
    try:
        db.session.rollback()
    except Exception:  # the connection is gone: the pool has already dropped it
        pass
    with force_locale(locale if locale in ("zh_CN", "en") else "zh_CN"):
        message = str(lazy_message)
        fragment = htmx.is_fragment_request()
        if fragment:
            body = render_template("_error_fragment.html", message=message, status=status)
        else:
            body = render_template("_unavailable.html", message=message, status=status)
    resp = app_response(body, status)
    if fragment:
        resp.headers[ERROR_HEADER] = "message"
    resp.headers["Cache-Control"] = "no-store"
    if status == 503:
        resp.headers["Retry-After"] = "5"
    return resp


def app_response(body: str, status: int):
    return current_app.response_class(body, status=status, mimetype="text/html")


# Lazy: translated inside standalone_error, under the locale chosen there.
_DB_UNAVAILABLE = _l("The database cannot be reached just now. Try again in a moment.")
_DB_LOST_AFTER_SAVE = _l("Your change was saved, but the database connection was lost before this page could be "
                         "shown. Do not submit it again: reload the page in a moment to see it.")
_REDIS_UNAVAILABLE = _l("A background service (Redis) cannot be reached just now; nothing was changed. "
                        "Try again in a moment.")
_UNEXPECTED = _l("Something went wrong on our side. Try again, and tell the administrator if it happens again.")


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself explains

    @login_manager.unauthorized_handler
    def _unauthorized():
        if htmx.is_htmx_request():  # boosted too: its XMLHttpRequest would follow a 302 into the page
            # Back to the page the clerk was on after signing in again (portal.js keeps what they typed).
            current = urlsplit(request.headers.get("HX-Current-URL", ""))
            back = safe_redirect_target(current.path + (f"?{current.query}" if current.query else ""), "")
            return htmx.redirect(url_for("auth.login", next=back or None), 401)
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))

    @app.errorhandler(CSRFError)
    def _csrf_error(e):
        return error_response(400, _("The form expired or was sent from elsewhere. Reload the page and try again."),
                              kind="expired-form")

    @app.errorhandler(403)
    def _forbidden(e):
        return error_response(403, _("You do not have permission to do this."))

    @app.errorhandler(404)
    def _not_found(e):
        return error_response(404, _("Not found."))

    @app.errorhandler(405)
    def _method(e):
        return error_response(405, _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def _too_large(e):
        return error_response(413, _("The upload is too large."))

    @app.errorhandler(429)
    def _too_many(e):
        return error_response(429, _("Too many attempts. Wait a minute and try again."))

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(e):
        # The pool sees a dropped connection as a disconnect and replaces it (pool_pre_ping checks the
        # others at checkout): the next request works again without restarting the portal.
        log.warning("database unavailable during %s %s: %s", request.method, request.path, str(e).splitlines()[0])
        return standalone_error(503, _DB_LOST_AFTER_SAVE if committed_in_this_request() else _DB_UNAVAILABLE)

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def _redis_unavailable(e):
        # Only what needs Redis during the request gets here (an import preview parked there, the throttle
        # falls back to memory, jobs wait in the outbox): a clean 503, and the next request works once it is back.
        log.warning("redis unavailable during %s %s: %s", request.method, request.path, str(e).splitlines()[0])
        return standalone_error(503, _REDIS_UNAVAILABLE)

    @app.errorhandler(InternalServerError)
    def _internal_error(e):
        return standalone_error(500, _UNEXPECTED)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        # A signed-in request, told without asking the database: after a commit the user's columns are
        # expired, and reading `is_authenticated` (= `active`) would query again after the response was
        # made — on a connection that may have been cut, turning a saved ticket into an error.
        user = g.get("_login_user")
        signed_in = (user is not None and not user.is_anonymous) or "_user_id" in session
        if signed_in and request.endpoint != "static":
            resp.headers["Cache-Control"] = "no-store"
        resp.vary.add(htmx.VARY)
        return resp
