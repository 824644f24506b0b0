from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.auth.models import User
from portal.core.enums import Role
from portal.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only():
    if not current_user.has_role(Role.ADMIN):
        abort(403)


@bp.get("/users")
def users():
    users = list(db.session.scalars(select(User).order_by(User.username)))
    return render_template("admin/users.html", users=users)
