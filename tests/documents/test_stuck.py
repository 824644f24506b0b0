"""A document still "being generated" past its job's time (no worker ran it, Redis lost it) stops
polling and shows why, with a retry button to those who may use the archive; the retry is a POST,
checked like every archive route, and idempotent: a second click queues nothing more, and the
document is made once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.core.timeutil import utcnow
from portal.documents import operations as ops
from portal.documents.models import Document
from portal.extensions import db
from portal.jobs import queue as outbox
from portal.jobs.models import OutboxMessage
from tests.conftest import ROLE_KEYS
from tests.documents.helpers import document, files_under, run_burst_worker, set_columns

ALLOWED = {"cs", "market", "market_manager", "admin"}
LATE = timedelta(seconds=outbox.JOB_TIMEOUT + outbox.RESEND_MARGIN + 1)


def render_jobs() -> int:
    n = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.func == "portal.documents.jobs.render_document"))
    db.session.commit()
    return n


@pytest.fixture
def stuck_doc(users, letterhead, vip_unit, redis_conn):
    doc = ops.request_contact_letter(vip_unit.contacts[0], users["cs"])
    db.session.commit()
    redis_conn.flushdb()  # its job is gone with Redis, and no worker will run it
    set_columns(Document, doc.id, queued_at=utcnow() - LATE, created_at=utcnow() - LATE)
    return document(doc.id)


@pytest.fixture
def redis_conn(app):
    from portal.core.redis_conn import get_redis

    return get_redis()


def test_pending_document_within_its_time_keeps_polling(auth, users, letterhead, vip_unit):
    doc = ops.request_contact_letter(vip_unit.contacts[0], users["cs"])
    db.session.commit()
    r = auth.client_for("cs").get(f"/documents/{doc.public_id}/status", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'hx-trigger="load delay:1s"' in r.get_data(as_text=True)
    assert not document(doc.id).is_stuck()


def test_stuck_document_stops_polling_and_shows_the_reason_and_a_retry(auth, stuck_doc):
    r = auth.client_for("cs").get(f"/documents/{stuck_doc.public_id}/status", headers={"HX-Request": "true"})
    assert r.status_code == 286  # htmx stops polling
    body = r.get_data(as_text=True)
    assert "hx-get" not in body and "生成超时" in body and "后台任务未能按时完成" in body
    assert f'hx-post="/documents/{stuck_doc.public_id}/retry"' in body and 'name="csrf_token"' in body
    page = auth.client_for("cs").get(f"/documents/{stuck_doc.public_id}").get_data(as_text=True)
    assert "生成超时" in page and f'action="/documents/{stuck_doc.public_id}/retry"' in page


def test_retrying_a_stuck_document_queues_it_once_and_it_is_made_once(auth, stuck_doc, document_dir):
    c = auth.client_for("cs")
    assert render_jobs() == 1
    r = c.post(f"/documents/{stuck_doc.public_id}/retry", headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'hx-trigger="load delay:1s"' in r.get_data(as_text=True)  # polling again
    assert render_jobs() == 2 and not document(stuck_doc.id).is_stuck()
    # A second click (or a second tab) changes nothing: the generation is within its time again.
    assert c.post(f"/documents/{stuck_doc.public_id}/retry").status_code == 302
    assert render_jobs() == 2
    run_burst_worker()
    doc = document(stuck_doc.id)
    assert doc.status == "ready" and len(files_under(document_dir)) == 1
    assert db.session.scalar(select(func.count()).select_from(Document)
                             .where(Document.series_key == doc.series_key)) == 1


@pytest.mark.parametrize("role", sorted(set(ROLE_KEYS) - ALLOWED))
def test_only_archive_roles_may_retry_others_get_404_and_nothing_is_queued(auth, stuck_doc, role):
    assert auth.client_for(role).post(f"/documents/{stuck_doc.public_id}/retry").status_code == 404
    assert auth.client_for(role).get(f"/documents/{stuck_doc.public_id}/status").status_code == 404
    assert render_jobs() == 1 and document(stuck_doc.id).is_stuck()


def test_retry_needs_a_post(auth, stuck_doc):
    assert auth.client_for("cs").get(f"/documents/{stuck_doc.public_id}/retry").status_code == 405
    assert render_jobs() == 1


def test_retry_without_csrf_token_is_refused_when_csrf_is_on(app, auth, stuck_doc):
    c = auth.client_for("cs")  # signed in while CSRF is off (the suite's default)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert c.post(f"/documents/{stuck_doc.public_id}/retry").status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert render_jobs() == 1 and document(stuck_doc.id).is_stuck()
