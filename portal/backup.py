"""Backup and restore: `flask --app app backup [--to DIR]`, `restore-check DIR`, `restore DIR`.

A backup folder holds
  manifest.json         what is in it: the database's row count per table, and the sha256 and size
                        of every file (the database copy included)
  database/portal.db    SQLite: a copy made with SQLite's online backup API (a consistent snapshot
                        of a live database, writers keep working), checked with PRAGMA integrity_check
  database/portal.pgdump  PostgreSQL: `pg_dump --format=custom` (pg_dump must be on PATH)
  files/uploads/…       ticket attachments and their thumbnails (UPLOAD_DIR)
  files/documents/…     the archive (DOCUMENT_DIR)
With FILE_STORAGE=s3 neither folder exists: the bucket is backed up by the object store's own means
(versioning, replication, `mc mirror` …) and the manifest says so.

Why the copy is consistent: attachments and archive files are written *before* the row that names
them commits, and are never overwritten or deleted. The database snapshot is taken first, the files
are copied after it, so every file the snapshot names is there to copy (files newer than the snapshot
come along too, unreferenced and harmless). Each referenced file is checked; one missing from the live
storage is reported and the command exits with status 1 (the backup is kept).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from portal.core import storage
from portal.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database/portal.db"
PG_FILE = "database/portal.pgdump"


class BackupError(Exception):
    pass


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked_files: int = 0
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- helpers ----------------------------------------------------------------------------

def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_entry(path: Path) -> dict:
    return {"sha256": sha256_of(path), "size": path.stat().st_size}


def _is_temp(path: Path) -> bool:
    """A writer's temporary file (LocalStore.save; `.part`: uploads before it): linked into place when complete."""
    return path.name.endswith(".part") or path.name.startswith(".tmp-")


def _sqlite_path() -> Path | None:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def upload_dir() -> Path | None:
    """The attachments' folder, or None when they live in the object store (backed up by its own means)."""
    return storage.local_root(storage.ATTACHMENTS)


def document_dir() -> Path | None:
    """The archive folder, or None when the archive lives in the object store (backed up by its own means)."""
    return storage.local_root(storage.ARCHIVE)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _count_sqlite(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _sqlite_tables(conn)}


def _referenced(rows_attachments, rows_documents) -> list[str]:
    """Backup-relative paths of the files the database names."""
    out = [f"files/uploads/{name[:2]}/{name}" for (name,) in rows_attachments]
    out += [f"files/documents/{key}" for (key,) in rows_documents]
    return out


REFERENCED_SQL = ("SELECT stored_name FROM attachments", "SELECT storage_key FROM documents WHERE storage_key IS NOT NULL")


# --- backup -----------------------------------------------------------------------------

def default_target() -> Path:
    return Path(current_app.instance_path) / "backups" / datetime.now().strftime("%Y%m%d-%H%M%S")


def backup(target: Path, echo=lambda s: None) -> dict:
    """Write a backup of the configured database and files into `target` (a new or empty folder)."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; choose a new folder")
    (target / "database").mkdir(parents=True, exist_ok=True)
    manifest: dict = {"format": FORMAT, "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
                      "files": {}, "missing": []}
    sqlite_path = _sqlite_path()
    if sqlite_path is not None:
        referenced = _backup_sqlite(sqlite_path, target, manifest)
        echo(f"database: SQLite online backup of {sqlite_path} → {SQLITE_FILE} (integrity_check ok)")
    else:
        referenced = _backup_postgresql(target, manifest)
        echo(f"database: pg_dump → {PG_FILE}")
    for name, folder in (("uploads", upload_dir()), ("documents", document_dir())):
        if folder is None:
            manifest[name] = "s3: not in this backup (back up the bucket with the object store's own tools)"
            echo(f"{name}: stored in S3, not copied (back up the bucket with the object store's tools)")
            referenced = [p for p in referenced if not p.startswith(f"files/{name}/")]
        else:
            copied = _copy_tree(folder, target / "files" / name, target, manifest)
            echo(f"{name}: {copied} files from {folder}")
    manifest["referenced_files"] = len(referenced)
    manifest["missing"] = sorted(p for p in referenced if p not in manifest["files"])
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    return manifest


def _backup_sqlite(source: Path, target: Path, manifest: dict) -> list[str]:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    out = target / SQLITE_FILE
    src = sqlite3.connect(str(source), timeout=30)  # only reads; a plain connection can share the WAL index
    dst = sqlite3.connect(out)
    try:
        # One step (pages=-1): the whole database as of one read transaction, whatever writers do meanwhile.
        src.backup(dst, pages=-1)
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        result = [r[0] for r in dst.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"integrity_check of the copy failed: {result[:5]}")
        manifest["database"] = {"kind": "sqlite", "file": SQLITE_FILE, "integrity_check": "ok",
                                "alembic_revision": _sqlite_revision(dst), "tables": _count_sqlite(dst)}
        referenced = _referenced(dst.execute(REFERENCED_SQL[0]).fetchall(), dst.execute(REFERENCED_SQL[1]).fetchall())
    finally:
        dst.close()
    manifest["files"][SQLITE_FILE] = _file_entry(out)
    return referenced


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def libpq_url() -> str:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _pg_tools_missing(tool: str) -> str:
    return (f"{tool} is not on PATH: a PostgreSQL backup needs the PostgreSQL client tools of the server's major "
            f"version (Debian: apt-get install postgresql-client)")


def _backup_postgresql(target: Path, manifest: dict) -> list[str]:
    """pg_dump of the snapshot in which the row counts and the referenced files are read (pg_export_snapshot)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(_pg_tools_missing("pg_dump"))
    out = target / PG_FILE
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            tables = conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")).scalars().all()
            counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() \
                if "alembic_version" in tables else None
            referenced = _referenced(conn.execute(text(REFERENCED_SQL[0])).all(),
                                     conn.execute(text(REFERENCED_SQL[1])).all())
            # pg_dump reads the very snapshot counted above; the transaction stays open until it is done.
            proc = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                                   f"--file={out}", f"--dbname={libpq_url()}"], capture_output=True, text=True)
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {proc.stderr.strip()[:2000]}")
    manifest["database"] = {"kind": "postgresql", "file": PG_FILE, "alembic_revision": revision, "tables": counts,
                            "pg_dump": subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout.strip()}
    manifest["files"][PG_FILE] = _file_entry(out)
    return referenced


def _copy_tree(source: Path, dest: Path, root: Path, manifest: dict) -> int:
    n = 0
    if not source.is_dir():
        return 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or _is_temp(path):
            continue
        rel = path.relative_to(source)
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(path, out)
        except FileNotFoundError:  # removed since the listing (e.g. a failed upload's clean-up)
            continue
        manifest["files"][out.relative_to(root).as_posix()] = _file_entry(out)  # the hash of what was copied
        n += 1
    return n


# --- checking and restoring ------------------------------------------------------------

def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} has no {MANIFEST}: not a backup folder")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def check_backup(folder: Path) -> Report:
    """Every file of the manifest present with its hash; the database copy sound and its row counts
    those of the manifest (SQLite), or a dump pg_restore can read (PostgreSQL)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    report = Report()
    for rel, entry in sorted(manifest["files"].items()):
        report.checked_files += 1
        path = folder / rel
        if not path.is_file():
            report.problems.append(f"missing: {rel}")
        elif sha256_of(path) != entry["sha256"]:
            report.problems.append(f"changed: {rel} (sha256 differs from the manifest)")
    for rel in manifest.get("missing", []):
        report.problems.append(f"not in the backup: {rel} (named by the database, absent from the live storage)")
    database = manifest["database"]
    if database["kind"] == "sqlite" and (folder / SQLITE_FILE).is_file():
        _check_sqlite(folder / SQLITE_FILE, database["tables"], report)
    elif database["kind"] == "postgresql" and (folder / PG_FILE).is_file():
        _check_pg_dump(folder / PG_FILE, database["tables"], report)
    return report


def _check_sqlite(path: Path, tables: dict, report: Report) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            report.problems.append(f"integrity_check: {result[:5]}")
        report.tables = _count_sqlite(conn)
    finally:
        conn.close()
    if report.tables != tables:
        diff = {t: (tables.get(t), report.tables.get(t)) for t in set(tables) | set(report.tables)
                if tables.get(t) != report.tables.get(t)}
        report.problems.append(f"row counts differ from the manifest (manifest, found): {diff}")


def _check_pg_dump(path: Path, tables: dict, report: Report) -> None:
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        report.problems.append(_pg_tools_missing("pg_restore"))
        return
    proc = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        report.problems.append(f"pg_restore cannot read the dump: {proc.stderr.strip()[:500]}")
        return
    listed = {line.split()[-2] for line in proc.stdout.splitlines() if " TABLE DATA " in line}
    absent = sorted(set(tables) - listed)
    if absent:
        report.problems.append(f"tables missing from the dump: {absent}")
    report.tables = dict(tables)


def restore(folder: Path, echo=lambda s: None) -> Report:
    """Restore a checked SQLite backup into this app's (empty) instance, then prove it complete: the
    restored database's integrity and row counts, and every restored file's hash, against the manifest."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest["database"]["kind"] != "sqlite":
        raise BackupError("a PostgreSQL backup is restored with pg_restore (see README, \"Backup and restore\")")
    before = check_backup(folder)
    if not before.ok:
        raise BackupError("the backup does not check out:\n  " + "\n  ".join(before.problems))
    db_path = _sqlite_path()
    if db_path is None:
        raise BackupError("this instance is configured for PostgreSQL; restore a SQLite backup into a SQLite instance")
    targets = {"files/uploads/": upload_dir(), "files/documents/": document_dir()}
    if db_path.exists() and db_path.stat().st_size > 0:
        raise BackupError(f"{db_path} already exists: restore only into a new, empty instance")
    for prefix, where in targets.items():
        if where is not None and where.is_dir() and any(p.is_file() for p in where.rglob("*")):
            raise BackupError(f"{where} is not empty: restore only into a new, empty instance")
    db.engine.dispose()  # no pooled connection to a file about to appear
    db_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkstemp(prefix=".restore-", dir=db_path.parent)[1])
    shutil.copyfile(folder / SQLITE_FILE, tmp)
    os.replace(tmp, db_path)
    report = Report()
    _check_sqlite(db_path, manifest["database"]["tables"], report)
    echo(f"database: {db_path} ({sum(report.tables.values())} rows in {len(report.tables)} tables)")
    for rel, entry in sorted(manifest["files"].items()):
        prefix = next((p for p in targets if rel.startswith(p)), None)
        if prefix is None:
            continue
        if targets[prefix] is None:
            report.problems.append(f"not restored (this instance keeps its files in S3): {rel}")
            continue
        out = targets[prefix] / rel[len(prefix):]
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / rel, out)
        report.checked_files += 1
        if sha256_of(out) != entry["sha256"]:
            report.problems.append(f"restored file differs from the manifest: {out}")
    echo(f"files: {report.checked_files} restored and checked")
    return report


# --- commands ---------------------------------------------------------------------------

def register(app: Flask) -> None:
    @app.cli.command("backup")
    @click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="A new folder (default: <instance>/backups/<date-time>).")
    def backup_command(to: Path | None):
        """Consistent copy of the live database (SQLite online backup / pg_dump) and of the uploaded
        and archived files, with a manifest (sha256 of every file, rows per table)."""
        target = to or default_target()
        try:
            manifest = backup(target, echo=click.echo)
        except BackupError as e:
            raise click.ClickException(str(e))
        rows = sum(manifest["database"]["tables"].values())
        click.echo(f"backup written to {target}: {rows} rows in {len(manifest['database']['tables'])} tables, "
                   f"{len(manifest['files'])} files")
        if manifest["missing"]:
            click.echo(f"WARNING: {len(manifest['missing'])} files named by the database were missing from the "
                       f"live storage: {manifest['missing'][:10]}", err=True)
            raise SystemExit(1)

    def _fail_on_problems(report, where: str) -> None:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        if not report.ok:
            raise click.ClickException(f"{len(report.problems)} problems {where}")

    @app.cli.command("restore-check")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def restore_check_command(folder: Path):
        """Check a backup folder: every file's sha256, the database copy's integrity and row counts."""
        try:
            report = check_backup(folder)
        except BackupError as e:
            raise click.ClickException(str(e))
        _fail_on_problems(report, f"in {folder}")
        click.echo(f"backup ok: {report.checked_files} files match the manifest, "
                   f"{sum(report.tables.values())} rows in {len(report.tables)} tables")

    @app.cli.command("restore")
    @click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
    def restore_command(folder: Path):
        """Restore a SQLite backup into this (new, empty) instance and prove it complete."""
        try:
            report = restore(folder, echo=click.echo)
        except BackupError as e:
            raise click.ClickException(str(e))
        _fail_on_problems(report, f"after restoring {folder}")
        click.echo("restore complete: row counts and file hashes match the manifest")
