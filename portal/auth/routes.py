from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import operations as ops
from portal.auth.forms import LoginForm, PasswordForm, PreferencesForm
from portal.core.redirects import safe_redirect_target
from portal.extensions import db, limiter

bp = Blueprint("auth", __name__)


def _username_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()[:64]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_USER"], key_func=_username_key, methods=["POST"],
               deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("queues.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = ops.authenticate(form.username.data, form.password.data)
        if user is not None:
            session.clear()  # a fresh cookie session at every login (no fixation)…
            ops.start_session(user, request.remote_addr, request.user_agent.string)  # …with a new server-side key
            login_user(user)
            db.session.commit()
            return redirect(safe_redirect_target(request.args.get("next"), url_for("queues.home")))
        form.password.errors.append(_("Wrong user name or password."))
        return render_template("auth/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    ops.end_session(current_user.login_key)  # dead for every copy of the cookie, not only this browser's
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _reauth_key() -> str:
    return f"reauth-user:{current_user.get_id() or '-'}"


def _not_reauth() -> bool:
    return "pw-new" not in request.form  # changing the language asks for no password: never throttled


def _reauth_failed(response) -> bool:
    return bool(g.get("reauth_failed"))


# A stolen session must not be a free password oracle: the current-password check is throttled like a
# login, per user and per address, counting wrong passwords only (a typo in the new one costs nothing).
@bp.route("/account", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], exempt_when=_not_reauth,
               deduct_when=_reauth_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_USER"], key_func=_reauth_key, methods=["POST"],
               exempt_when=_not_reauth, deduct_when=_reauth_failed)
@login_required
def account():
    prefs = PreferencesForm(prefix="prefs", locale=current_user.locale)
    pw = PasswordForm(prefix="pw")
    if request.method == "POST":
        if "prefs-locale" in request.form and prefs.validate_on_submit():
            current_user.locale = prefs.locale.data
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("auth.account"))
        if "pw-new" in request.form and pw.validate_on_submit():
            if ops.authenticate(current_user.username, pw.current.data) is None:
                g.reauth_failed = True
                pw.current.errors.append(_("Wrong password."))
            else:
                try:
                    ops.set_password(current_user, pw.new.data)
                except ops.AccountError as e:
                    pw.new.errors.append(str(e.message))
                else:
                    db.session.commit()  # set_password ended every session and started this browser a new one
                    flash(_("Password changed. Other sessions have been signed out."), "success")
                    return redirect(url_for("auth.account"))
        return _account_page(prefs, pw), 422
    return _account_page(prefs, pw)


@bp.app_template_filter("browser")
def browser_label(user_agent: str | None) -> str:
    """A User-Agent as staff would name it: "Chrome 120 · Windows 10", "WeChat Browser 8 · iOS 17 · iPhone"."""
    import ua_parser

    if not user_agent:
        return "—"
    parsed = ua_parser.parse(user_agent)
    parts = [" ".join(filter(None, (x.family, x.major))) for x in (parsed.user_agent, parsed.os) if x is not None]
    if parsed.device is not None and parsed.device.family not in ("Other", "Generic Smartphone"):
        parts.append(parsed.device.family)
    parts = list(dict.fromkeys(p for p in parts if p and p != "Other"))
    return " · ".join(parts) or user_agent[:60]


def _account_page(prefs, pw):
    sessions = ops.live_sessions_marked(current_user, current_user)
    return render_template("auth/account.html", prefs=prefs, pw=pw, sessions=sessions)


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    """Sign out every other browser of one's own (a lost phone, a shared computer left signed in)."""
    me = current_user._get_current_object()
    ended = ops.sign_out_everywhere(me, me)
    db.session.commit()
    flash(_("Signed out of %(n)d other sessions.", n=ended) if ended else _("No other session was signed in."),
          "success")
    return redirect(url_for("auth.account"))
