from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

from portal.core.enums import Role
from portal.customers import operations as ops
from portal.customers.models import CustomerUnit
from portal.extensions import db

bp = Blueprint("customers", __name__)

VIEW_ROLES = (Role.CS, Role.MARKET, Role.MARKET_MANAGER, Role.DEV_MANAGER, Role.IMPL_MANAGER, Role.ADMIN)


def require_view() -> None:
    if not current_user.has_role(*VIEW_ROLES):
        abort(403)


@bp.get("/customers")
@login_required
def index():
    require_view()
    q = request.args.get("q", "")
    units = ops.search_units(q, limit=100)
    return render_template("customers/index.html", units=units, q=q)


@bp.get("/customers/lookup")
@login_required
def lookup():
    """htmx search-select for the intake form: radio options, usable by keyboard."""
    if not current_user.has_role(Role.CS):
        abort(403)
    q = request.args.get("customer_q", "")
    units = ops.search_units(q, limit=12) if q.strip() else []
    return render_template("customers/_lookup_options.html", units=units, q=q)


@bp.get("/customers/<int:unit_id>")
@login_required
def show(unit_id: int):
    require_view()
    unit = db.get_or_404(CustomerUnit, unit_id)
    return render_template("customers/show.html", unit=unit)
