"""The ticket list: allowlisted filters and sorts, keyset pagination, one query per page."""
from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, literal, or_, select, tuple_
from werkzeug.datastructures import MultiDict

from portal.auth.models import User
from portal.core.enums import State, TicketType
from portal.core.timeutil import from_local, utcnow
from portal.extensions import db
from portal.tickets import access
from portal.tickets.models import Ticket, TicketAssignee

PAGE_SIZE = 50
SORTS = {
    # key: (columns, descending?)
    "urgent": ("urgent", "id"),
    "newest": ("id",),
    "oldest": ("id",),
    "deadline": ("deadline", "id"),
}


def _int(v) -> int | None:
    try:
        return int(v) if v not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(v) -> date | None:
    try:
        return date.fromisoformat(v) if v else None
    except ValueError:
        return None


@dataclass
class Filters:
    state: list[str] = field(default_factory=list)
    type: str = ""
    customer_id: int | None = None
    assignee_id: int | None = None
    urgent: bool = False
    overdue: bool = False
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    queue: str = ""
    sort: str = "urgent"
    after: str = ""

    @classmethod
    def from_args(cls, args: MultiDict) -> "Filters":
        states = [s for s in args.getlist("state") if s in State._value2member_map_]
        t = args.get("type", "")
        sort = args.get("sort", "urgent")
        return cls(
            state=states,
            type=t if t in TicketType._value2member_map_ else "",
            customer_id=_int(args.get("customer_id")),
            assignee_id=_int(args.get("assignee_id")),
            urgent=args.get("urgent") in ("1", "on", "true"),
            overdue=args.get("overdue") in ("1", "on", "true"),
            date_from=_date(args.get("date_from")),
            date_to=_date(args.get("date_to")),
            q=(args.get("q") or "").strip()[:100],
            queue=args.get("queue", "") if args.get("queue", "") in _queue_keys() else "",
            sort=sort if sort in SORTS else "urgent",
            after=(args.get("after") or "")[:200],
        )

    def query_args(self, **changes) -> dict:
        d = {k: v for k, v in asdict(self).items()}
        d.update(changes)
        out = {}
        for k, v in d.items():
            if v in (None, "", False, []):
                continue
            if isinstance(v, bool):
                v = "1"
            if isinstance(v, date):
                v = v.isoformat()
            out[k] = v
        return out


@dataclass
class Page:
    rows: list[tuple[Ticket, bool]]  # (ticket, personal data masked?)
    next_cursor: str | None
    is_first: bool


def _encode(values: list) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> list | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(SORTS[sort]):
            return None
        if sort == "deadline":
            values[0] = datetime.fromisoformat(values[0])
        if sort == "urgent":
            values[0] = bool(values[0])
        values[-1] = int(values[-1])
        return values
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


SORT_TITLES = {"urgent": _l("Urgent first, newest"), "newest": _l("Newest first"), "oldest": _l("Oldest first"),
               "deadline": _l("By deadline")}


def choices(f: "Filters") -> dict:
    from portal.queues.definitions import BY_KEY

    return {
        "type_choices": TicketType.choices(),
        "sort_choices": list(SORT_TITLES.items()),
        "queue_title": BY_KEY[f.queue].title if f.queue else "",
    }


def _queue_keys():
    from portal.queues.definitions import BY_KEY

    return BY_KEY


def base_query(f: Filters, user: User):
    q = select(Ticket)
    q = access.restrict(q, user)
    if f.queue:
        q = q.where(_queue_keys()[f.queue].where(user))
    if f.state:
        q = q.where(Ticket.state.in_(f.state))
    if f.type:
        q = q.where(Ticket.type == f.type)
    if f.customer_id:
        q = q.where(Ticket.customer_id == f.customer_id)
    if f.assignee_id:
        q = q.where(Ticket.assignee_id == f.assignee_id)
    if f.urgent:
        q = q.where(Ticket.urgent.is_(True))
    if f.overdue:
        q = q.where(Ticket.state == State.ASSIGNED.value, Ticket.deadline < utcnow())
    if f.date_from:
        q = q.where(Ticket.created_at >= from_local(datetime.combine(f.date_from, datetime.min.time())))
    if f.date_to:
        q = q.where(Ticket.created_at < from_local(datetime.combine(f.date_to + timedelta(days=1), datetime.min.time())))
    if f.q:
        q = q.where(or_(Ticket.number == f.q.upper(), Ticket.summary.contains(f.q, autoescape=True)))
    return q


def fetch(f: Filters, user: User, page_size: int = PAGE_SIZE) -> Page:
    q = base_query(f, user)
    cursor = _decode(f.after, f.sort) if f.after else None
    if f.sort == "urgent":
        q = q.order_by(Ticket.urgent.desc(), Ticket.id.desc())
        if cursor:
            u, i = cursor
            q = q.where(or_(Ticket.urgent < u, and_(Ticket.urgent == u, Ticket.id < i)) if u else
                        and_(Ticket.urgent.is_(False), Ticket.id < i))
    elif f.sort == "newest":
        q = q.order_by(Ticket.id.desc())
        if cursor:
            q = q.where(Ticket.id < cursor[0])
    elif f.sort == "oldest":
        q = q.order_by(Ticket.id.asc())
        if cursor:
            q = q.where(Ticket.id > cursor[0])
    else:  # deadline: only tickets that have one
        q = q.where(Ticket.deadline.is_not(None)).order_by(Ticket.deadline.asc(), Ticket.id.asc())
        if cursor:
            d, i = cursor
            q = q.where(or_(Ticket.deadline > d, and_(Ticket.deadline == d, Ticket.id > i)))
    masked_col = _masked_column(user)
    rows = db.session.execute(q.add_columns(masked_col).limit(page_size + 1)).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    next_cursor = None
    if more and rows:
        last = rows[-1][0]
        values = [getattr(last, c) for c in SORTS[f.sort]]
        next_cursor = _encode(values)
    return Page(rows=[(r[0], bool(r[1])) for r in rows], next_cursor=next_cursor, is_first=not f.after)


def _masked_column(user: User):
    """Per-row 'personal data masked?' computed in the same query (no per-row look-ups)."""
    if access.sees_everything(user):
        return literal(False)
    was_assigned = exists().where(TicketAssignee.ticket_id == Ticket.id, TicketAssignee.user_id == user.id)
    return and_(Ticket.state == State.CLOSED.value, ~was_assigned)
