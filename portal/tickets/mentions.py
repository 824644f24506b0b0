"""@提到: `@name` in a note (the `comment` action) tells that person, if they may see the ticket.

How a name is read (Chinese names have no space after them, so the text after `@` is not cut at a space):
- `@` (or the full-width `＠`) starts a mention at the start of the text or after anything but a Latin
  letter, digit or one of `._%+-` (so `zhang@example.com` mentions nobody);
- the name is the longest active user's display name (exact) or user name (any case) that the text after
  `@` begins with: `@张伟明请看` is 张伟明 when there is one, else 张伟; `@张伟请看一下` is 张伟;
- a name that ends in a Latin letter or digit must not run on into another one (`@cs2` is not `cs`;
  `@engineer.` is `engineer`);
- a display name that several active users share is ambiguous: nobody is told, and the author is asked to
  write that person's user name instead;
- the author is never told of their own mention; an unknown name is plain text; the first 20 `@` of a note
  are read.

A mentioned person who may see the ticket (access.who_may_see) gets one notification of kind `mention` for
the note — the one they would get as a follower becomes that mention. One who may not see it gets nothing,
and only the author is told so; nothing about the ticket reaches them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import islice

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from portal.auth.models import User
from portal.extensions import db
from portal.jobs.queue import enqueue
from portal.notifications import delivery
from portal.notifications.jobs import deliver_notification
from portal.notifications.models import Notification
from portal.tickets import access
from portal.tickets.models import Event, Ticket

_AT = re.compile(r"(?<![A-Za-z0-9._%+-])[@＠]")  # (＠: the full-width form a Chinese input method types)
_LATIN = re.compile(r"[A-Za-z0-9_]")
MAX_NAME = 64  # User.username and User.display_name
MAX_MENTIONS = 20  # the @ signs of a note that are read (a note of 5,000 @ stays one small query)


@dataclass
class Mentions:
    """Who a note's @names are: told, not told because they may not see the ticket, names of several people."""

    notified: list[User] = field(default_factory=list)
    not_visible: list[User] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    def messages(self) -> list[tuple[str, str]]:
        """(category, text) for the author, in their language."""
        out = []
        if self.notified:
            out.append(("success", _("Notified: %(names)s.", names="、".join(u.display_name for u in self.notified))))
        if self.not_visible:
            out.append(("warn", _("Not notified, because they may not see this ticket: %(names)s.",
                                  names="、".join(u.display_name for u in self.not_visible))))
        if self.ambiguous:
            out.append(("warn", _("Not notified, because several people have this name: %(names)s. "
                                  "Write @ and the person's user name instead.",
                                  names="、".join(self.ambiguous))))
        return out


def _names(prefixes: set[str]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """The active users named by one of the prefixes (display name exact, user name in any case): one query
    for only the candidates, however many users there are."""
    display: dict[str, set[int]] = {}
    usernames: dict[str, set[int]] = {}
    lowered = {p.lower() for p in prefixes}
    for uid, username, display_name in db.session.execute(
            select(User.id, User.username, User.display_name)
            .where(User.active.is_(True), or_(User.display_name.in_(prefixes), func.lower(User.username).in_(lowered)))):
        display.setdefault(display_name, set()).add(uid)
        usernames.setdefault(username.lower(), set()).add(uid)
    return display, usernames


def parse(text: str | None) -> tuple[list[int], list[str]]:
    """The user ids the text mentions (in order, once each) and the ambiguous names it uses."""
    text = text or ""
    starts = [m.end() for m in islice(_AT.finditer(text), MAX_MENTIONS)]
    if not starts:
        return [], []
    display, usernames = _names({text[pos:end] for pos in starts
                                 for end in range(pos + 1, min(len(text), pos + MAX_NAME) + 1)})
    ids: list[int] = []
    ambiguous: list[str] = []
    for pos in starts:
        for end in range(min(len(text), pos + MAX_NAME), pos, -1):
            name = text[pos:end]
            if _LATIN.fullmatch(name[-1]) and end < len(text) and _LATIN.fullmatch(text[end]):
                continue  # `@cs2` is not `cs`
            who = display.get(name, set()) | usernames.get(name.lower(), set())
            if len(who) == 1:
                uid = next(iter(who))
                if uid not in ids:
                    ids.append(uid)
                break
            if who:
                if name not in ambiguous:
                    ambiguous.append(name)
                break
    return ids, ambiguous


def resolve(ticket: Ticket, text: str | None, author: User) -> Mentions:
    """Who the text mentions, split by whether they may see the ticket (the author left out)."""
    ids, ambiguous = parse(text)
    ids = [i for i in ids if i != author.id]
    if not ids:
        return Mentions(ambiguous=ambiguous)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    ordered = [people[i] for i in ids if i in people]
    seeing = access.who_may_see(ticket.id, ordered)
    return Mentions([u for u in ordered if u.id in seeing], [u for u in ordered if u.id not in seeing], ambiguous)


def notify(ticket: Ticket, event: Event, author: User) -> Mentions:
    """Tell the people a note mentions who may see the ticket: one notification each for this event.
    Runs after the workflow's notify step, in the same transaction (the caller commits)."""
    found = resolve(ticket, event.text, author)
    if not found.notified:
        return found
    keys = {f"event:{event.id}:{u.id}": u for u in found.notified}
    text = f"{ticket.number} {author.display_name}: {event.text}"[:500]
    existing = {n.key: n for n in db.session.scalars(select(Notification).where(Notification.key.in_(keys)))}
    new = []
    for key, user in keys.items():
        note = existing.get(key)
        if note is not None:  # a follower's notice of this very note: it becomes the mention
            note.kind, note.text = "mention", text
            continue
        note = Notification(key=key, user_id=user.id, kind="mention", ticket_id=ticket.id, text=text,
                            link=f"/tickets/{ticket.number}")
        db.session.add(note)
        new.append(note)
    _deliver(new)
    return found


def _deliver(notes: list[Notification]) -> None:
    """E-mail, when SMTP is configured: through the outbox, so nothing is sent for a rolled-back note."""
    if not notes or not delivery.smtp_configured():
        return
    db.session.flush()
    for n in notes:
        enqueue(deliver_notification, n.id, job_id=f"deliver-{n.id}")
