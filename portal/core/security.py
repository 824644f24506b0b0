"""Security plumbing that every request shares: user loading, headers, error pages."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from portal.extensions import db, login_manager


@login_manager.user_loader
def load_user(user_id: str):
    from portal.auth.models import User

    try:
        uid, token = user_id.split(":", 1)
        uid = int(uid)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    # A changed password or a deactivation rotates the token: old sessions die at once.
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def _wants_fragment() -> bool:
    return request.headers.get("HX-Request") == "true"


def error_response(status: int, message: str):
    if _wants_fragment():
        return render_template("_error_fragment.html", message=message, status=status), status
    return render_template("error.html", message=message, status=status), status


def init_app(app) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself explains

    @login_manager.unauthorized_handler
    def _unauthorized():
        if _wants_fragment():
            resp = app.response_class(status=401)
            resp.headers["HX-Redirect"] = url_for("auth.login")
            return resp
        return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))

    @app.errorhandler(CSRFError)
    def _csrf_error(e):
        return error_response(400, _("The form expired or was sent from elsewhere. Reload the page and try again."))

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
        if current_user and getattr(current_user, "is_authenticated", False) and request.endpoint != "static":
            resp.headers["Cache-Control"] = "no-store"
        resp.vary.add("HX-Request")
        return resp
