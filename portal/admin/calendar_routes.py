"""The working-day calendar (法定节假日 and 调休) for the years `chinesecalendar` does not know yet: an
administrator enters a year's days one by one or imports them as text. Nested under the admin blueprint
(/admin/calendar, admins only); the days live in portal.core.workcalendar, which every working-day count reads."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.admin.forms import CalendarDayForm, CalendarImportForm
from portal.core import workcalendar
from portal.core.params import parse_date, parse_int
from portal.core.timeutil import today_local
from portal.extensions import db

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


def _year() -> int:
    return parse_int(request.args.get("year"), workcalendar.FIRST_YEAR, workcalendar.LAST_YEAR) \
        or today_local().year + 1


def _page(year: int, add: CalendarDayForm | None = None, imp: CalendarImportForm | None = None,
          import_errors: list[str] = (), status: int = 200):
    this_year = today_local().year
    shown_years = sorted({this_year, this_year + 1, year, *workcalendar.years()}, reverse=True)
    add = add or CalendarDayForm(formdata=None)
    imp = imp or CalendarImportForm(formdata=None)
    return render_template("admin/calendar.html", year=year, days=workcalendar.for_year(year), years=shown_years,
                           known=workcalendar.package_knows(year), add=add, imp=imp,
                           import_errors=import_errors), status


@bp.get("")
def index():
    return _page(_year())


@bp.post("")
def add():
    form = CalendarDayForm()
    if not form.validate():
        return _page(form.day.data.year if form.day.data else _year(), add=form, status=422)
    try:
        workcalendar.put([workcalendar.Entry(form.day.data, form.kind.data, form.name.data or "")], current_user.id)
    except workcalendar.CalendarError as e:
        db.session.rollback()
        form.day.errors = list(form.day.errors) + [str(e.message)]
        return _page(form.day.data.year, add=form, status=422)
    db.session.commit()
    flash(_("%(day)s entered.", day=form.day.data.isoformat()), "success")
    return redirect(url_for("admin.calendar.index", year=form.day.data.year), 303)


@bp.post("/<day>/delete")
def remove(day: str):
    parsed: date | None = parse_date(day)
    if parsed is None or not workcalendar.remove(parsed):
        abort(404)
    db.session.commit()
    flash(_("%(day)s removed: it counts as the official schedule (or Monday to Friday) says again.",
            day=parsed.isoformat()), "success")
    return redirect(url_for("admin.calendar.index", year=parsed.year), 303)


@bp.post("/import")
def import_days():
    form = CalendarImportForm()
    year = _year()
    if not form.validate():
        return _page(year, imp=form, status=422)
    try:
        entries = workcalendar.parse_lines(form.text.data)
        workcalendar.put(entries, current_user.id)
    except workcalendar.CalendarError as e:
        db.session.rollback()
        return _page(year, imp=form, import_errors=[str(e.message), *e.errors], status=422)
    db.session.commit()
    flash(_("%(n)d days imported.", n=len(entries)), "success")
    return redirect(url_for("admin.calendar.index", year=entries[0].day.year), 303)
