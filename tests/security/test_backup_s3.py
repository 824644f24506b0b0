"""Backup with FILE_STORAGE=s3: the database is backed up as ever; the files are in the bucket, which the
object store backs up by its own means — the manifest says so, nothing named by the database is reported
missing, and restore-check accepts the backup."""
from __future__ import annotations

import json

from portal.extensions import db
from portal.tickets import operations as ops
from tests.security.test_backup import checked, intake, png


def test_a_backup_with_files_in_s3_holds_the_database_and_says_where_the_files_are(app, users, unit_factory,
                                                                                 s3_files, tmp_path):
    from portal.documents import operations as docs

    unit = unit_factory(name="对象存储医院")
    ops.register_ticket(users["cs"], intake(unit.id, 0), files=[checked("截图.png", png(3))])
    docs.upload(unit, checked("合同.png", png(4)), users["admin"], kind="contract", title="合同")
    db.session.commit()
    db.session.close()
    dest = tmp_path / "backup"
    r = app.test_cli_runner().invoke(args=["backup", "--to", str(dest)])
    assert r.exit_code == 0, r.output
    assert "uploads: stored in S3, not copied" in r.output and "documents: stored in S3, not copied" in r.output
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["uploads"].startswith("s3:") and manifest["documents"].startswith("s3:")
    assert manifest["missing"] == [] and not any(rel.startswith("files/") for rel in manifest["files"])
    assert manifest["database"]["tables"]["attachments"] == 1 and manifest["database"]["tables"]["documents"] == 1
    r = app.test_cli_runner().invoke(args=["restore-check", str(dest)])
    assert r.exit_code == 0 and "backup ok" in r.output, r.output
