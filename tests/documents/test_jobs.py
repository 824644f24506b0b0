"""Generation jobs: a job that dies in the middle of writing its file leaves no partial file and is
retried; the retry makes the document exactly once; running a finished job again does nothing."""
from __future__ import annotations

import os
import time

from pypdf import PdfReader
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from portal.documents import operations as ops
from portal.documents.jobs import render_document
from portal.core.storage import LocalStore
from portal.extensions import db
from portal.jobs import queue as outbox
from tests.documents.helpers import all_documents, document, files_under, run_burst_worker
from tests.jobs.helpers import call_job


class Killed(BaseException):
    """Stands for the process dying mid-write (a BaseException: no `except Exception` in our code
    sees it; the storage's clean-up and the job's rollback still run, as RQ fails the job)."""


def test_job_killed_while_writing_leaves_no_partial_file_and_is_retried(users, letterhead, vip_unit, document_dir,
                                                                       monkeypatch, redis_conn):
    written = []

    def dies_half_way(self, f, data):
        f.write(data[: len(data) // 2])
        f.flush()
        written.append(len(data) // 2)
        raise Killed("worker killed mid-write")

    monkeypatch.setattr(LocalStore, "_write", dies_half_way)
    doc = ops.request_summary(vip_unit, "2025", users["cs"])
    db.session.commit()
    job_id = db.session.scalar(db.select(outbox.OutboxMessage.job_id))
    run_burst_worker()
    assert written, "the job never got to writing"
    assert files_under(document_dir) == []          # no partial file, under any name
    assert document(doc.id).status == "pending"     # and nothing claims the document exists

    # RQ failed the job and scheduled its retry (after the backoff: here, at once).
    monkeypatch.undo()
    scheduled = ScheduledJobRegistry(queue=outbox.get_queue())
    assert scheduled.get_job_ids() == [job_id]
    scheduled.requeue(job_id)
    run_burst_worker()

    assert Job.fetch(job_id, connection=redis_conn).get_status() == JobStatus.FINISHED
    [only] = all_documents()
    assert (only.id, only.status, only.revision) == (doc.id, "ready", 1)
    [path] = files_under(document_dir)
    assert path.relative_to(document_dir).as_posix() == only.storage_key
    assert path.stat().st_size == only.size
    assert len(PdfReader(str(path)).pages) >= 1


def test_job_that_fails_shows_the_reason_and_is_retried_with_backoff(users, letterhead, vip_unit, document_dir,
                                                                     monkeypatch):
    def disk_full(self, f, data):
        f.write(data[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LocalStore, "_write", disk_full)
    doc = ops.request_summary(vip_unit, "2025", users["cs"])
    db.session.commit()
    run_burst_worker()
    failed = document(doc.id)
    assert failed.status == "failed" and "No space left on device" in failed.error and failed.attempts == 1
    assert files_under(document_dir) == []
    scheduled = ScheduledJobRegistry(queue=outbox.get_queue())
    assert len(scheduled.get_job_ids()) == 1        # RQ will try again after its backoff

    monkeypatch.undo()
    for job_id in scheduled.get_job_ids():
        scheduled.requeue(job_id)
    run_burst_worker()
    done = document(doc.id)
    assert done.status == "ready" and done.error is None
    assert len(files_under(document_dir)) == 1


def test_running_a_finished_job_again_changes_nothing(users, letterhead, vip_unit, document_dir):
    doc = ops.request_contact_letter(vip_unit.contacts[0], users["cs"])
    db.session.commit()
    run_burst_worker()
    first = document(doc.id)
    before = (first.sha256, first.finished_at, os.stat(document_dir / first.storage_key).st_mtime_ns)
    assert call_job(render_document, doc.id) == "nothing to do"
    again = document(doc.id)
    assert (again.sha256, again.finished_at, os.stat(document_dir / again.storage_key).st_mtime_ns) == before


def test_stale_temporary_files_of_dead_writers_are_swept(document_dir):
    storage = LocalStore(document_dir)
    folder = document_dir / "7"
    folder.mkdir()
    stale = folder / ".tmp-12-r1.pdf.abcdef"
    stale.write_bytes(b"%PDF-1.7 half")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    fresh = folder / ".tmp-13-r1.pdf.123456"  # a writer busy right now
    fresh.write_bytes(b"%PDF-1.7 half")
    storage.save("7/14-r1.pdf", b"%PDF-1.7 whole")
    assert sorted(p.name for p in folder.iterdir()) == [".tmp-13-r1.pdf.123456", "14-r1.pdf"]
