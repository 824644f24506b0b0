"""`flask --app app search-reindex`: rebuild the whole search index.

Needed after writes that bypass the ORM (seed-bench's bulk load, an import done in SQL) and safe at any
time: the index is rebuilt from the tickets, their comments and their callbacks. Run it while the portal
is quiet — tickets written during the rebuild may be missed (run it again, or edit them, to catch up).

Speed (a million tickets in minutes): comments and callback notes are read once, tickets in batches in id
order; worker processes (forked after jieba is loaded, one per core) make the tokens while the main process
writes the previous batch. On SQLite the FTS5 table is recreated empty from its own DDL, filled with one
transaction per batch and merged into one b-tree at the end ('optimize'); on PostgreSQL the GIN index is
dropped, the table truncated and filled with COPY, the index built once at the end, and the table
vacuumed and analysed.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import defaultdict
from typing import Callable

import click
from sqlalchemy import select, text as sql

from portal.extensions import db
from portal.search import documents, text
from portal.search.schema import TABLE
from portal.tickets.models import Callback, Event, Ticket

BATCH = 10_000
_NOTES: dict[int, list[str]] = {}  # filled before the workers fork; they read it from there


def register_cli(app) -> None:
    @app.cli.command("search-reindex")
    @click.option("--workers", type=int, default=0, help="tokenising processes (default: one per core)")
    def search_reindex(workers: int):
        """Rebuild the ticket search index (run after seed-bench or any bulk load)."""
        n = reindex(workers=workers or None, echo=click.echo)
        click.echo(f"search index: {n} tickets")


def _build_many(rows: list[tuple]) -> list[tuple]:
    out = []
    for row in rows:
        d = documents.build(row, _NOTES.get(row[0], ()))
        out.append((d.ticket_id, d.title, d.personal, d.body, documents.tsvector_literal(d)))
    return out


def _load_notes(conn) -> None:
    _NOTES.clear()
    notes = defaultdict(list)
    for tid, note in conn.execute(select(Event.ticket_id, Event.text).where(Event.action == documents.COMMENT)):
        notes[tid].append(sys.intern(note))
    for tid, note in conn.execute(select(Callback.ticket_id, Callback.outcome).where(Callback.ticket_id.is_not(None))):
        notes[tid].append(sys.intern(note))
    _NOTES.update(notes)


def _batches(conn):
    last = 0
    while True:
        rows = conn.execute(select(*documents.TICKET_COLUMNS).where(Ticket.id > last).order_by(Ticket.id)
                            .limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1][0]
        yield [tuple(r) for r in rows]


class _Sqlite:
    def __init__(self, conn):
        self.conn = conn

    def start(self):
        ddl = self.conn.execute(sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"),
                                {"n": TABLE}).scalar_one()
        self.conn.commit()
        self._pragma("synchronous=OFF")  # a rebuild that fails is simply run again
        self.conn.exec_driver_sql(f"DROP TABLE {TABLE}")
        self.conn.exec_driver_sql(ddl)
        self.conn.commit()

    def write(self, docs):
        self.conn.exec_driver_sql(f"INSERT INTO {TABLE} (rowid, title, personal, body) VALUES (?, ?, ?, ?)",
                                  [d[:4] for d in docs])
        self.conn.commit()

    def finish(self):
        self.conn.exec_driver_sql(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")
        self.conn.commit()
        self._pragma("synchronous=NORMAL")

    def _pragma(self, setting: str) -> None:
        # Outside any transaction (SQLite refuses this one inside), so on the driver's connection.
        self.conn.connection.driver_connection.execute(f"PRAGMA {setting}")


class _Postgres:
    def __init__(self, conn):
        self.conn = conn

    def start(self):
        self.indexes = list(self.conn.execute(sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"), {"t": TABLE}))
        for name, _ in self.indexes:
            self.conn.exec_driver_sql(f'DROP INDEX "{name}"')
        self.conn.exec_driver_sql(f"TRUNCATE {TABLE}")
        self.conn.commit()

    def write(self, docs):
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy(f"COPY {TABLE} (ticket_id, document) FROM STDIN") as copy:
                for d in docs:
                    copy.write_row((d[0], d[4]))
        self.conn.commit()

    def finish(self):
        self.conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
        for _, definition in self.indexes:
            self.conn.exec_driver_sql(definition)
        self.conn.commit()
        # VACUUM (ANALYZE): statistics for the planner and the visibility map of the new pages, so joins on
        # ticket_id can be index-only. VACUUM refuses to run in a transaction: autocommit for it.
        raw = self.conn.connection.driver_connection
        raw.autocommit = True
        try:
            raw.execute(f"VACUUM (ANALYZE) {TABLE}")
        finally:
            raw.autocommit = False


def reindex(workers: int | None = None, echo: Callable[[str], object] = print) -> int:
    started = time.monotonic()
    text.jieba()  # loaded once here; the forked workers inherit it
    with db.engine.connect() as conn:
        backend = (_Postgres if conn.dialect.name == "postgresql" else _Sqlite)(conn)
        _load_notes(conn)
        conn.commit()
        echo(f"notes of {len(_NOTES)} tickets loaded in {time.monotonic() - started:.0f} s")
        backend.start()
        workers = workers or os.cpu_count() or 1
        total = 0
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pending = None
            for rows in _batches(conn):
                step = -(-len(rows) // workers)
                job = pool.map_async(_build_many, [rows[i:i + step] for i in range(0, len(rows), step)])
                if pending is not None:
                    total += _write(backend, pending.get())
                    echo(f"  {total} tickets indexed ({time.monotonic() - started:.0f} s)")
                pending = job
            if pending is not None:
                total += _write(backend, pending.get())
        conn.commit()
        backend.finish()
    _NOTES.clear()
    echo(f"done in {time.monotonic() - started:.0f} s")
    return total


def _write(backend, parts: list[list[tuple]]) -> int:
    docs = [d for part in parts for d in part]
    backend.write(docs)
    return len(docs)
