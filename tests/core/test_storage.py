"""The file store (portal.core.storage), the same tests for both implementations: the local folder and an
S3-compatible server over HTTP (moto's, in a process of its own). A file is written whole and read back
byte for byte; an existing key is refused and keeps its content; keys that would leave the store are
refused; the configuration picks the store for attachments and archive alike."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from portal.core import storage
from portal.core.storage import AlreadyStored, LocalStore, S3Store
from tests.conftest import s3_objects

CONTENT = os.urandom(3 * 1024 * 1024 + 17)  # binary, over a megabyte (the local writer's chunk), odd length


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalStore(tmp_path / "files")
    s3 = request.getfixturevalue("s3_files")
    return S3Store(s3["bucket"], s3["prefix"], client=s3["client"])


def test_a_file_is_read_back_byte_identical_with_its_size(store):
    store.save("ab/ab12-r1.bin", CONTENT)
    assert store.exists("ab/ab12-r1.bin") and not store.exists("ab/ab12-r2.bin")
    with store.open("ab/ab12-r1.bin") as f:
        assert f.read() == CONTENT
    body, size = store.reader("ab/ab12-r1.bin")
    with body:
        assert size == len(CONTENT) and body.read() == CONTENT


def test_an_existing_key_is_refused_and_keeps_its_content(store):
    store.save("3/9-r1.pdf", b"%PDF-1.7 first")
    with pytest.raises(AlreadyStored):
        store.save("3/9-r1.pdf", b"%PDF-1.7 second")
    with store.open("3/9-r1.pdf") as f:
        assert f.read() == b"%PDF-1.7 first"


def test_a_missing_key_is_file_not_found(store):
    with pytest.raises(FileNotFoundError):
        store.open("3/missing.pdf")
    with pytest.raises(FileNotFoundError):
        store.reader("3/missing.pdf")


@pytest.mark.parametrize("key", ["../x.pdf", "/etc/passwd", "a/../../b", "a//b", "", "a\\b", "./a", "a\x00b"])
def test_keys_that_would_leave_the_store_are_refused(store, key):
    with pytest.raises(ValueError):
        store.save(key, b"x")
    with pytest.raises(ValueError):
        store.open(key)


def test_local_writers_racing_for_one_key_leave_exactly_one_whole_file(tmp_path):
    local = LocalStore(tmp_path)
    contents = [bytes([i]) * (256 * 1024) for i in range(8)]
    outcome, barrier = [], threading.Barrier(len(contents))

    def write(data):
        barrier.wait()
        try:
            local.save("7/race.bin", data)
            outcome.append(data)
        except AlreadyStored:
            outcome.append(None)

    threads = [threading.Thread(target=write, args=(c,)) for c in contents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [winner] = [o for o in outcome if o is not None]
    assert (tmp_path / "7" / "race.bin").read_bytes() == winner
    assert sorted(p.name for p in (tmp_path / "7").iterdir()) == ["race.bin"]  # no temporary file left


def test_with_file_storage_s3_attachments_and_archive_share_the_bucket_under_their_prefixes(app, s3_files):
    assert storage.local_root(storage.ATTACHMENTS) is None and storage.local_root(storage.ARCHIVE) is None
    storage.get_store(storage.ATTACHMENTS).save("ab/ab12", b"attachment")
    storage.get_store(storage.ARCHIVE).save("3/9-r1-0a0b.pdf", b"%PDF archive")
    p = s3_files["prefix"]
    # the archive where it has always been (<S3_PREFIX>/<key>), attachments beside it under uploads/
    assert s3_objects(s3_files) == {f"{p}/uploads/ab/ab12": b"attachment", f"{p}/3/9-r1-0a0b.pdf": b"%PDF archive"}


def test_document_storage_s3_the_older_name_still_selects_the_object_store(app, s3_files, monkeypatch):
    monkeypatch.delitem(app.config, "FILE_STORAGE")
    monkeypatch.setitem(app.config, "DOCUMENT_STORAGE", "s3")
    storage.forget_stores(app)
    assert isinstance(storage.get_store(storage.ATTACHMENTS), S3Store)
    assert isinstance(storage.get_store(storage.ARCHIVE), S3Store)


def test_by_default_each_namespace_is_its_local_folder(app, monkeypatch):
    for name in ("FILE_STORAGE", "DOCUMENT_STORAGE"):
        monkeypatch.delenv(name, raising=False)
    storage.forget_stores(app)
    try:
        assert storage.get_store(storage.ATTACHMENTS).root == Path(app.config["UPLOAD_DIR"])
        assert storage.get_store(storage.ARCHIVE).root.name == "documents"
    finally:
        storage.forget_stores(app)


def test_an_unknown_storage_kind_is_refused(app, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "ftp")
    storage.forget_stores(app)
    with pytest.raises(RuntimeError, match="FILE_STORAGE"):
        storage.get_store(storage.ARCHIVE)
    storage.forget_stores(app)


def test_storage_copy_local_moves_existing_files_into_the_bucket_and_attachments_stay_downloadable(
        app, auth, ticket_factory, users, s3_files, tmp_path, monkeypatch):
    """An installation that had its files on disk turns FILE_STORAGE=s3 on: one command copies them under
    the same keys; a second run copies nothing; an object with other bytes under a key is reported."""
    import io

    from werkzeug.datastructures import FileStorage

    from portal.core import uploads
    from portal.extensions import db
    from portal.tickets.models import Attachment

    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "DOCUMENT_DIR", str(tmp_path / "documents"))
    # before: local storage, an attachment written the ordinary way and an archive file
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    storage.forget_stores(app)
    t = ticket_factory()
    content = b"2026-12-05 error log\n"
    stored = uploads.store(uploads.check(FileStorage(io.BytesIO(content), filename="error.log")))
    db.session.add(Attachment(id=stored, ticket_id=t.id, filename="error.log", stored_name=stored,
                              content_type="text/plain; charset=utf-8", size=len(content), is_image=False,
                              uploaded_by_id=users["cs"].id))
    db.session.commit()
    storage.get_store(storage.ARCHIVE).save("5/1-r1.pdf", b"%PDF old archive")
    (tmp_path / "uploads" / stored[:2] / f".tmp-{stored}.abc").write_bytes(b"half")  # a dead writer's
    # after: the object store
    monkeypatch.setitem(app.config, "FILE_STORAGE", "s3")
    storage.forget_stores(app)
    c = auth.client_for("cs")
    assert c.get(f"/tickets/{t.number}/attachments/{stored}").status_code == 404  # not copied yet

    runner = app.test_cli_runner()
    r = runner.invoke(args=["storage-copy-local"])
    assert r.exit_code == 0, r.output
    assert "uploads: 1 copied, 0 already there" in r.output and "documents: 1 copied, 0 already there" in r.output
    p = s3_files["prefix"]
    assert s3_objects(s3_files) == {f"{p}/uploads/{stored[:2]}/{stored}": content, f"{p}/5/1-r1.pdf": b"%PDF old archive"}
    r = c.get(f"/tickets/{t.number}/attachments/{stored}")
    assert r.status_code == 200 and r.data == content

    r = runner.invoke(args=["storage-copy-local"])
    assert r.exit_code == 0 and "uploads: 0 copied, 1 already there" in r.output, r.output
    (tmp_path / "documents" / "5" / "1-r1.pdf").write_bytes(b"%PDF other bytes")
    r = runner.invoke(args=["storage-copy-local"])
    assert r.exit_code != 0 and "documents/5/1-r1.pdf: the store holds other bytes" in r.output, r.output
    assert s3_objects(s3_files)[f"{p}/5/1-r1.pdf"] == b"%PDF old archive"


def test_storage_copy_local_refuses_to_run_without_the_object_store(app, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    storage.forget_stores(app)
    r = app.test_cli_runner().invoke(args=["storage-copy-local"])
    storage.forget_stores(app)
    assert r.exit_code != 0 and "FILE_STORAGE=s3" in r.output
