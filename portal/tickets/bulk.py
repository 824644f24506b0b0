"""Bulk actions on the list: assign, close or comment several tickets at once.

Each ticket goes through the same workflow as on its own page (operations.take_action, with the version
the list row showed, so a ticket changed since is refused as stale), each in its own savepoint: a ticket
is either wholly done or untouched, and one refusal does not undo the others. The caller commits once.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.auth.models import User
from portal.core.params import ID_MAX, parse_int
from portal.extensions import db
from portal.tickets import access, operations, workflow
from portal.tickets.models import Ticket

ACTIONS = ("assign", "close", "comment")
MAX_TICKETS = 100
NOT_FOUND = _l("No such ticket, or not one you may see.")


@dataclass
class Outcome:
    number: str
    done: bool
    reason: str = ""  # why it was refused (Chinese for users)
    status: int = 200  # the workflow's status for a refusal: 403, 404, 409, 422


def parse_items(values: list[str]) -> list[tuple[str, int | None]]:
    """"<number>:<version>" as the list's check boxes send them; duplicates dropped, order kept."""
    out, seen = [], set()
    for v in values:
        number, _, version = (v or "").partition(":")
        number = number.strip()
        if not number or number in seen or len(number) > 20 or "\x00" in number:
            continue
        seen.add(number)
        out.append((number, parse_int(version, 0, ID_MAX)))
    return out


def available(user: User) -> list[str]:
    """The bulk actions this user's roles may take at all (the workflow answers, per ticket, the rest)."""
    return [k for k in ACTIONS if workflow.may_take(workflow.ACTIONS[k], user)]


def run(actor: User, action: str, items: list[tuple[str, int | None]], data: dict) -> list[Outcome]:
    """Take `action` on each ticket (number, version shown); never commits."""
    numbers = [n for n, _ in items]
    tickets = {t.number: t for t in db.session.scalars(
        access.restrict(select(Ticket).where(Ticket.number.in_(numbers)), actor))} if numbers else {}
    out = []
    for number, version in items:
        ticket = tickets.get(number)
        if ticket is None:
            out.append(Outcome(number, False, str(NOT_FOUND), 404))
            continue
        if version is None:
            out.append(Outcome(number, False, str(_l("This form is out of date. Reload the list and try again.")),
                               409))
            continue
        try:
            with db.session.begin_nested():
                operations.take_action(ticket, action, actor, dict(data), expected_version=version)
        except workflow.WorkflowError as e:
            db.session.expire(ticket)  # whatever the refused step touched in memory is not kept
            out.append(Outcome(number, False, str(e.message), e.status))
        else:
            out.append(Outcome(number, True))
    return out
