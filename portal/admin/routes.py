"""管理员: accounts (create, edit, roles, deactivate, reset password), departments and the service-level policy."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.admin import operations as ops
from portal.admin import policy as policy_ops
from portal.admin.forms import DepartmentForm, PasswordResetForm, PolicyChangeForm, UserCreateForm, UserEditForm
from portal.auth.models import Department, User
from portal.auth.operations import AccountError, create_user, live_sessions_marked, sign_out_everywhere
from portal.core import policy as pol
from portal.core import policy_store
from portal.core.enums import Role
from portal.core.kernel import guard_blueprint
from portal.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")

from portal.jobs.routes import bp as jobs_bp  # noqa: E402  (nested: /admin/jobs, admins only)

bp.register_blueprint(jobs_bp)

from portal.admin.calendar_routes import bp as calendar_bp  # noqa: E402  (nested: /admin/calendar, admins only)

bp.register_blueprint(calendar_bp)


guard_blueprint(bp, "admin.manage")


def _department_choices() -> list[tuple[str, str]]:
    return [("", _("— none —"))] + [(d.key, d.name) for d in ops.departments()]


def _roles_of(form) -> list[Role]:
    return [Role(r) for r in form.roles.data]


# --- users ------------------------------------------------------------------------

@bp.get("/users")
def users():
    rows = list(db.session.scalars(select(User).order_by(User.active.desc(), User.username)))
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
def new_user():
    form = UserCreateForm()
    form.department.choices = _department_choices()
    if form.validate_on_submit():
        try:
            user = create_user(form.username.data, form.password.data, form.display_name.data.strip(),
                               _roles_of(form), form.department.data or None, (form.email.data or "").strip() or None)
        except AccountError as e:
            db.session.rollback()
            form.username.errors.append(str(e.message))
        else:
            db.session.commit()
            flash(_("User %(name)s created.", name=user.username), "success")
            return redirect(url_for("admin.users"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/user_new.html", form=form), status


def _current_values_form(user: User) -> UserEditForm:
    form = UserEditForm(formdata=None, display_name=user.display_name, department=user.department_key or "",
                        email=user.email or "", roles=sorted(r.value for r in user.roles), active=user.active)
    form.department.choices = _department_choices()
    return form


def _edit_page(user: User, form: UserEditForm, pw_form: PasswordResetForm, error: str | None = None,
               status: int = 200):
    sessions = live_sessions_marked(user, current_user)
    return render_template("admin/user_edit.html", user=user, form=form, pw_form=pw_form, error=error,
                           sessions=sessions), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    pw_form = PasswordResetForm(formdata=None)
    if request.method == "GET":
        return _edit_page(user, _current_values_form(user), pw_form)
    form = UserEditForm()
    form.department.choices = _department_choices()
    if not form.validate():
        return _edit_page(user, form, pw_form, status=422)
    try:
        ops.update_user(user.id, current_user, display_name=form.display_name.data,
                        department_key=form.department.data or None, email=form.email.data,
                        roles=_roles_of(form), active=form.active.data)
    except AccountError as e:
        # Refused by an account rule (last administrator, own account): nothing is written.
        db.session.rollback()
        user = db.get_or_404(User, user_id)
        return _edit_page(user, form, pw_form, error=str(e.message), status=409)
    db.session.commit()
    flash(_("Changes to %(name)s saved.", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    pw_form = PasswordResetForm()
    if pw_form.validate():
        try:
            ops.reset_password(user, pw_form.password.data)
        except AccountError as e:
            db.session.rollback()
            pw_form.password.errors.append(str(e.message))
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)  # an admin resetting their own password keeps this session
            flash(_("New password set for %(name)s. All of their sessions have been signed out.",
                    name=user.username), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _edit_page(user, _current_values_form(user), pw_form, status=422)


@bp.post("/users/<int:user_id>/sessions/end")
def end_sessions(user_id: int):
    """Sign a user out everywhere (a lost laptop, a password seen by someone else) without changing anything
    else; an administrator doing it to themselves stays signed in here."""
    user = db.get_or_404(User, user_id)
    ended = sign_out_everywhere(user, current_user)
    db.session.commit()
    flash(_("%(name)s was signed out of %(n)d sessions.", name=user.username, n=ended), "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


# --- departments ------------------------------------------------------------------

@bp.get("/departments")
def departments():
    rows = ops.departments()
    forms = {d.id: DepartmentForm(formdata=None, prefix=f"d{d.id}", name=d.name) for d in rows}
    return render_template("admin/departments.html", departments=rows, forms=forms)


@bp.post("/departments/<key>")
def rename_department(key: str):
    if "\x00" in key:  # PostgreSQL refuses NUL in text: no such department
        abort(404)
    dept = db.session.scalar(select(Department).where(Department.key == key))
    if dept is None:
        abort(404)
    form = DepartmentForm(prefix=f"d{dept.id}")
    status, error = 422, None
    if form.validate():
        try:
            ops.rename_department(dept, form.name.data)
        except ops.DepartmentError as e:
            db.session.rollback()
            status, error = e.status, str(e.message)
            form.name.errors.append(error)
        else:
            db.session.commit()
            flash(_("Department renamed."), "success")
            return redirect(url_for("admin.departments"))
    rows = ops.departments()
    forms = {d.id: DepartmentForm(formdata=None, prefix=f"d{d.id}", name=d.name) for d in rows}
    forms[dept.id] = form
    return render_template("admin/departments.html", departments=rows, forms=forms), status


# --- the service-level policy -----------------------------------------------------

def _policy_form(formdata=None, **data) -> PolicyChangeForm:
    form = PolicyChangeForm(formdata=formdata, **data) if formdata is not None else PolicyChangeForm(**data)
    form.field.choices = [(name, str(rule.label)) for name, rule in pol.RULES.items()]
    form.level.choices = [(s.value, str(s.title)) for s in reversed(pol.PER_LEVEL)] + \
        [(pol.COMPANY, str(policy_ops.level_title(pol.COMPANY)))]
    return form


def _policy_page(form: PolicyChangeForm, status: int = 200):
    window, names = policy_ops.history(request.args.get("after"))
    return render_template("admin/policy.html", rows=policy_ops.table(), form=form,
                           history=window, names=names, level_title=policy_ops.level_title,
                           levels=[s.value for s in reversed(pol.PER_LEVEL)], company=pol.COMPANY,
                           rule_label=policy_ops.rule_label, shown=policy_ops.stored_shown), status


@bp.get("/policy")
def policy():
    field = request.args.get("field", "")
    level = request.args.get("level", "")
    data = {}
    if field in pol.RULES:
        level = level if level in policy_ops.levels_of(field) else policy_ops.levels_of(field)[0]
        in_force = pol.policy_for(None if level == pol.COMPANY else level)
        data = dict(field=field, level=level, value=pol.shown(field, getattr(in_force, field)))
    return _policy_page(_policy_form(formdata=None, **data))


@bp.post("/policy")
def change_policy():
    form = _policy_form()
    if not form.validate():
        return _policy_page(form, 422)
    try:
        change = policy_ops.change(current_user, level=form.level.data, field=form.field.data,
                                   entered=form.value.data, reason=form.reason.data)
        db.session.commit()
    except pol.PolicyValueError as e:
        db.session.rollback()
        where = getattr(form, e.field)
        where.errors = [*where.errors, str(e.message)]
        return _policy_page(form, 422)
    except IntegrityError:  # another administrator set the same number first, at the same moment
        db.session.rollback()
        policy_store.forget()
        form.value.errors = [*form.value.errors, _("Another administrator changed this number at the same moment: "
                                                   "look at the value now in force and try again.")]
        return _policy_page(form, 409)
    if change is None:
        flash(_("That is already the value in force: nothing was changed."), "info")
    else:
        flash(_("The policy was changed; tickets registered from now on are held to the new value."), "success")
    return redirect(url_for("admin.policy"))
