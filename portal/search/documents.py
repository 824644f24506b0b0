"""What a ticket's search document holds, and writing documents to either database.

title    — number, 所属科室, 问题摘要 (plus one token for the whole summary, see text.exact_token)
personal — 反馈人 and 联系电话 (kept apart: someone who sees a ticket with these masked cannot match them)
body     — description, the engineer's process and result (or the consultation's answer), every comment
           (events with action 'comment') and every callback's notes (Callback.outcome)
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select, text as sql

from portal.search import text
from portal.search.schema import TABLE
from portal.tickets.models import Callback, Event, Ticket

COMMENT = "comment"
TICKET_COLUMNS = (Ticket.id, Ticket.number, Ticket.reporter_dept, Ticket.summary, Ticket.reporter_name,
                  Ticket.reporter_phone, Ticket.description, Ticket.process, Ticket.result)
# Ticket attributes whose change means the document must be rebuilt.
INDEXED_ATTRIBUTES = ("number", "reporter_dept", "summary", "reporter_name", "reporter_phone", "description",
                      "process", "result")


@dataclass
class Document:
    ticket_id: int
    title: str
    personal: str
    body: str


def build(row, notes: Iterable[str]) -> Document:
    """row: (id, number, dept, summary, reporter, phone, description, process, result) — TICKET_COLUMNS."""
    tid, number, dept, summary, reporter, phone, description, process, result = row
    title = text.tokens(number, dept, summary)
    title.add(text.exact_token(summary))
    return Document(
        ticket_id=tid,
        title=" ".join(sorted(title)),
        personal=" ".join(sorted(text.tokens(reporter, phone))),
        body=" ".join(sorted(text.tokens(description, process, result, *notes))),
    )


def load(session, ids: list[int]) -> list[Document]:
    """Documents for these tickets, built from the database (three queries whatever the number)."""
    if not ids:
        return []
    notes: dict[int, list[str]] = defaultdict(list)
    for tid, note in session.execute(select(Event.ticket_id, Event.text)
                                     .where(Event.ticket_id.in_(ids), Event.action == COMMENT)):
        notes[tid].append(note)
    for tid, note in session.execute(select(Callback.ticket_id, Callback.outcome).where(Callback.ticket_id.in_(ids))):
        notes[tid].append(note)
    rows = session.execute(select(*TICKET_COLUMNS).where(Ticket.id.in_(ids))).all()
    return [build(row, notes.get(row[0], ())) for row in rows]


# --- writing --------------------------------------------------------------------------------------------------

def tsvector_literal(doc: Document) -> str:
    """The document as a tsvector literal: every token once per part, weighted A (title), B (personal) or D."""
    positions: dict[str, list[str]] = defaultdict(list)
    pos = 0
    for part, weight in ((doc.title, "A"), (doc.personal, "B"), (doc.body, "")):
        for token in part.split():
            pos = min(pos + 1, 16383)
            positions[token].append(f"{pos}{weight}")
    return " ".join(f"'{token}':{','.join(p)}" for token, p in positions.items())


def write(connection, docs: list[Document]) -> None:
    """Replace these tickets' documents (inside the caller's transaction)."""
    if not docs:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(
            sql(f"INSERT INTO {TABLE} (ticket_id, document) VALUES (:id, CAST(:doc AS tsvector)) "
                "ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document"),
            [{"id": d.ticket_id, "doc": tsvector_literal(d)} for d in docs])
    else:
        connection.execute(sql(f"DELETE FROM {TABLE} WHERE rowid = :id"), [{"id": d.ticket_id} for d in docs])
        connection.execute(
            sql(f"INSERT INTO {TABLE} (rowid, title, personal, body) VALUES (:id, :title, :personal, :body)"),
            [{"id": d.ticket_id, "title": d.title, "personal": d.personal, "body": d.body} for d in docs])
