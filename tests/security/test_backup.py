"""Backup: `flask --app app backup` copies a live database consistently (SQLite: the online backup API;
PostgreSQL: pg_dump of one exported snapshot) together with the uploaded and archived files, and writes
a manifest (sha256 of every file, row counts per table). A restore into a fresh instance proves the copy
complete: row counts and file hashes match the manifest, integrity_check is ok, every file the database
names is there, and the restored portal serves a ticket with its attachment.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage

from portal.auth.models import User
from portal.core import uploads
from portal.extensions import db
from portal.tickets import operations as ops
from portal.tickets.models import Attachment, Ticket
from tests.conftest import PASSWORD

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite backup and restore into a fresh instance")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump backup of a PostgreSQL database")
DEADLINE = 120  # seconds for the writer thread to make progress on a loaded machine


def checked(name: str, content: bytes) -> uploads.CheckedFile:
    return uploads.check(FileStorage(io.BytesIO(content), filename=name))


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (seed % 256, 80, 160)).save(out, "PNG")
    return out.getvalue()


def intake(unit_id: int, i: int) -> ops.Intake:
    return ops.Intake(channel="hotline", customer_id=unit_id, type="maintenance", reporter_name="刘建国",
                      reporter_dept="信息科", reporter_phone="13800138000", summary=f"备份期间登记的问题{i}",
                      description="打印机无法打印")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def archive(app, users, unit_factory):
    """Tickets with attachments (a text file and an image with its thumbnail) and an archived document."""
    from portal.documents import operations as docs

    unit = unit_factory(name="备份测试医院")
    cs = users["cs"]
    first = ops.register_ticket(cs, intake(unit.id, 0), files=[checked("日志.txt", "错误日志 0".encode()),
                                                                 checked("截图.png", png(0))])
    docs.upload(unit, checked("合同.png", png(1)), users["admin"], kind="contract", title="2026年维护合同")
    db.session.commit()
    out = {"unit_id": unit.id, "cs_id": cs.id, "first": first.number}
    db.session.commit()
    db.session.close()  # SQLite: the test holds no transaction while the writer thread and the backup run
    return out


class Writer(threading.Thread):
    """Keeps registering tickets, each with an attachment, in its own app context and session."""

    def __init__(self, app, unit_id: int, cs_id: int):
        super().__init__(name="ticket-writer", daemon=True)
        self.app, self.unit_id, self.cs_id = app, unit_id, cs_id
        self.stop, self.made, self.errors = threading.Event(), [], []

    def run(self):
        with self.app.app_context():
            try:
                i = 1
                while not self.stop.is_set():
                    cs = db.session.get(User, self.cs_id)
                    t = ops.register_ticket(cs, intake(self.unit_id, i),
                                            files=[checked(f"log-{i}.txt", f"第{i}份日志".encode())])
                    db.session.commit()
                    self.made.append(t.number)
                    i += 1
            except Exception as e:  # reported by the test
                self.errors.append(repr(e))
            finally:
                db.session.remove()

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + DEADLINE
        while len(self.made) < n and not self.errors and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not self.errors, self.errors
        assert len(self.made) >= n, f"the writer made only {len(self.made)} tickets"

    def finish(self) -> None:
        self.stop.set()
        self.join(DEADLINE)
        assert not self.is_alive() and not self.errors, self.errors


def backup_while_writing(app, archive, dest: Path) -> tuple[dict, Writer]:
    writer = Writer(app, archive["unit_id"], archive["cs_id"])
    writer.start()
    try:
        writer.wait_for(3)
        result = app.test_cli_runner().invoke(args=["backup", "--to", str(dest)])
        assert result.exit_code == 0, result.output
        writer.wait_for(len(writer.made) + 3)  # still writing after the backup
    finally:
        writer.finish()
    return json.loads((dest / "manifest.json").read_text()), writer


def live_ticket_count() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(Ticket))


def restored_app(instance: Path, database_uri: str):
    """A second portal on the restored data, as a fresh installation would start."""
    from portal import create_app

    saved = os.environ.get("INSTANCE_PATH")
    os.environ["INSTANCE_PATH"] = str(instance)
    try:
        return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "SERVER_NAME": None,
                           "SQLALCHEMY_DATABASE_URI": database_uri, "UPLOAD_DIR": str(instance / "uploads"),
                           "DOCUMENT_DIR": str(instance / "documents")})
    finally:
        os.environ["INSTANCE_PATH"] = saved


def serves_ticket_with_attachment(fresh, number: str, summary: str, attachment: tuple[str, bytes]) -> None:
    client = fresh.test_client()
    r = client.post("/login", data={"username": "cs", "password": PASSWORD})
    assert r.status_code == 302, r.status_code
    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200 and summary in page.get_data(as_text=True)
    att_id, content = attachment
    r = client.get(f"/tickets/{number}/attachments/{att_id}")
    assert r.status_code == 200 and r.data == content


def attachment_of(number: str) -> tuple[str, str, bytes]:
    att = db.session.scalar(select(Attachment).join(Ticket, Ticket.id == Attachment.ticket_id)
                            .where(Ticket.number == number, Attachment.filename.like("%.txt")))
    return att.id, att.stored_name, uploads.read(att.stored_name)


# --- SQLite ------------------------------------------------------------------------------

@sqlite_only
def test_backup_of_a_live_sqlite_database_restores_into_a_fresh_instance_complete(app, archive, tmp_path):
    dest = tmp_path / "backup"
    manifest, writer = backup_while_writing(app, archive, dest)
    tickets_in_backup = manifest["database"]["tables"]["tickets"]
    # A snapshot taken in the middle of the writing: later tickets are not in it, earlier ones are.
    assert 1 + 3 <= tickets_in_backup < live_ticket_count()
    assert manifest["database"]["integrity_check"] == "ok" and manifest["missing"] == []
    assert manifest["database"]["tables"]["attachments"] == tickets_in_backup + 1  # every ticket's file(s)

    r = app.test_cli_runner().invoke(args=["restore-check", str(dest)])
    assert r.exit_code == 0 and "backup ok" in r.output, r.output

    instance = tmp_path / "fresh-instance"
    fresh = restored_app(instance, f"sqlite:///{instance / 'portal.db'}")
    with fresh.app_context():
        r = fresh.test_cli_runner().invoke(args=["restore", str(dest)])
    assert r.exit_code == 0 and "restore complete" in r.output, r.output

    # Proved here again, independently of the command: the restored database and files are the manifest's.
    conn = sqlite3.connect(instance / "portal.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [t for (t,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        stored = [n for (n,) in conn.execute("SELECT stored_name FROM attachments")]
        keys = [k for (k,) in conn.execute("SELECT storage_key FROM documents WHERE storage_key IS NOT NULL")]
        numbers = [n for (n,) in conn.execute("SELECT number FROM tickets ORDER BY id")]
    finally:
        conn.close()
    assert counts == manifest["database"]["tables"]
    restored_files = {p.relative_to(instance).as_posix(): sha256(p) for p in instance.rglob("*")
                      if p.is_file() and p.parts[len(instance.parts)] in ("uploads", "documents")}
    expected = {rel[len("files/"):]: e["sha256"] for rel, e in manifest["files"].items() if rel.startswith("files/")}
    assert restored_files == expected
    assert all(f"uploads/{n[:2]}/{n}" in restored_files for n in stored)  # every attachment the rows name
    assert keys and all(f"documents/{k}" in restored_files for k in keys)
    assert numbers == [archive["first"]] + writer.made[:len(numbers) - 1]  # a prefix of what was written: no gap

    last = numbers[-1]
    att_id, _stored, content = attachment_of(last)
    with fresh.app_context():
        serves_ticket_with_attachment(fresh, last, f"备份期间登记的问题{len(numbers) - 1}", (att_id, content))
        db.engine.dispose()


@sqlite_only
def test_restore_refuses_an_instance_that_already_has_a_database(app, archive, tmp_path):
    dest = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", "--to", str(dest)]).exit_code == 0
    r = app.test_cli_runner().invoke(args=["restore", str(dest)])  # into the live instance itself
    assert r.exit_code != 0 and "already exists" in r.output
    assert live_ticket_count() == 1


# --- any database --------------------------------------------------------------------------

def test_restore_check_finds_a_changed_or_missing_file_and_a_database_copy_that_lost_rows(app, archive, tmp_path):
    dest = tmp_path / "backup"
    r = app.test_cli_runner().invoke(args=["backup", "--to", str(dest)])
    assert r.exit_code == 0, r.output
    manifest = json.loads((dest / "manifest.json").read_text())
    db.session.commit()
    names = sorted(db.session.scalars(select(Attachment.stored_name)))
    ours = [f"files/uploads/{n[:2]}/{n}" for n in names]
    assert len(ours) == 2 and all(p in manifest["files"] for p in ours)
    assert f"{ours[0]}.thumb.jpg" in manifest["files"] or f"{ours[1]}.thumb.jpg" in manifest["files"]
    (dest / ours[0]).write_bytes(b"changed")
    (dest / ours[1]).unlink()
    problems = []
    if not ON_POSTGRES:
        conn = sqlite3.connect(dest / "database/portal.db")
        conn.execute("DELETE FROM events")
        conn.commit()
        conn.close()
        problems.append("row counts differ from the manifest")
    r = app.test_cli_runner().invoke(args=["restore-check", str(dest)])
    assert r.exit_code != 0
    for expected in [f"changed: {ours[0]}", f"missing: {ours[1]}"] + problems:
        assert expected in r.output, r.output


def test_backup_refuses_a_folder_that_is_not_empty(app, archive, tmp_path):
    (tmp_path / "old.txt").write_text("x")
    r = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path)])
    assert r.exit_code != 0 and "not empty" in r.output


# --- PostgreSQL ---------------------------------------------------------------------------

@postgres_only
def test_postgresql_backup_is_a_pg_dump_of_the_snapshot_it_counted_and_restores_complete(app, archive, tmp_path):
    import shutil
    import subprocess

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump/pg_restore not on PATH (postgresql-client)")
    dest = tmp_path / "backup"
    manifest, writer = backup_while_writing(app, archive, dest)
    assert manifest["database"]["kind"] == "postgresql" and manifest["missing"] == []
    tickets_in_backup = manifest["database"]["tables"]["tickets"]
    assert 1 + 3 <= tickets_in_backup < live_ticket_count()
    r = app.test_cli_runner().invoke(args=["restore-check", str(dest)])
    assert r.exit_code == 0, r.output

    # pg_restore into a scratch database: the same rows as counted in the snapshot (the dump is that snapshot).
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    scratch = f"{url.database}_restore"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}"'))
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    except Exception as e:  # no right to create databases here: what could be checked without one was
        admin.dispose()
        pytest.skip(f"cannot create a scratch database: {e}")
    target = url.set(database=scratch)
    try:
        proc = subprocess.run(["pg_restore", "--no-owner", "--exit-on-error",
                               f"--dbname={target.set(drivername='postgresql').render_as_string(hide_password=False)}",
                               str(dest / "database/portal.pgdump")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        restored = create_engine(target)
        with restored.connect() as conn:
            counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                      for t in manifest["database"]["tables"]}
        restored.dispose()
        assert counts == manifest["database"]["tables"]
        instance = tmp_path / "fresh-instance"
        for rel in manifest["files"]:
            if rel.startswith("files/"):
                out = instance / rel[len("files/"):]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes((dest / rel).read_bytes())
        numbers = writer.made[:tickets_in_backup - 1]
        att_id, _stored, content = attachment_of(numbers[-1])
        fresh = restored_app(instance, target.render_as_string(hide_password=False))
        with fresh.app_context():
            serves_ticket_with_attachment(fresh, numbers[-1], f"备份期间登记的问题{len(numbers)}", (att_id, content))
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


@postgres_only
def test_postgresql_backup_without_pg_dump_on_path_says_so(app, archive, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    r = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backup")])
    assert r.exit_code != 0 and "pg_dump is not on PATH" in r.output and "postgresql-client" in r.output
