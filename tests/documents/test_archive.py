"""The archive over HTTP: who may see and download (others get 404), regenerating keeps every
revision, the status component polls until the file is ready (286 stops it), failures offer a
retry, uploads are checked, filters work, and the letterhead is the administrator's."""
from __future__ import annotations

import hashlib
import io

import pytest

from portal.documents import operations as ops
from portal.documents.models import Document
from portal.extensions import db
from tests.conftest import ROLE_KEYS
from tests.documents.helpers import all_documents, document, files_under, run_burst_worker, set_columns

ALLOWED = {"cs", "market", "market_manager", "admin"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def ready_doc(users, letterhead, vip_unit):
    doc = ops.request_contact_letter(vip_unit.contacts[0], users["cs"])
    db.session.commit()
    run_burst_worker()
    return document(doc.id)


@pytest.mark.parametrize("role", ROLE_KEYS)
def test_download_is_for_the_archive_roles_only_others_get_404(auth, ready_doc, role):
    c = auth.client_for(role)
    r = c.get(f"/documents/{ready_doc.public_id}/download")
    if role in ALLOWED:
        assert r.status_code == 200
        assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
        assert hashlib.sha256(r.data).hexdigest() == ready_doc.sha256
        assert "attachment" in r.headers["Content-Disposition"]
    else:
        assert r.status_code == 404
    # Every other page of the archive answers the same way.
    for url in (f"/documents/{ready_doc.public_id}", f"/documents/{ready_doc.public_id}/status", "/documents"):
        assert (c.get(url).status_code == 404) == (role not in ALLOWED), url
    assert (c.post(f"/documents/{ready_doc.public_id}/regenerate").status_code == 404) == (role not in ALLOWED)


def test_download_of_an_unknown_document_is_404_and_signed_out_users_are_sent_to_log_in(auth, client, ready_doc):
    assert auth.client_for("cs").get("/documents/999/download").status_code == 404
    r = client.get(f"/documents/{ready_doc.public_id}/download")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_regenerating_makes_a_new_revision_and_keeps_the_old_one(auth, ready_doc, document_dir):
    c = auth.client_for("cs")
    old_bytes = c.get(f"/documents/{ready_doc.public_id}/download").data
    r = c.post(f"/documents/{ready_doc.public_id}/regenerate")
    assert r.status_code == 302
    run_burst_worker()
    first, second = all_documents()
    assert (first.id, first.revision, second.revision) == (ready_doc.id, 1, 2)
    assert first.series_key == second.series_key and second.status == "ready"
    assert first.storage_key != second.storage_key
    assert len(files_under(document_dir)) == 2
    # revision 1 is untouched, byte for byte, and both can be downloaded
    assert c.get(f"/documents/{first.public_id}/download").data == old_bytes
    assert hashlib.sha256(c.get(f"/documents/{second.public_id}/download").data).hexdigest() == second.sha256
    page = c.get(f"/documents/{second.public_id}").get_data(as_text=True)
    assert f"/documents/{first.public_id}/download" in page and f"/documents/{second.public_id}/download" in page


def test_status_component_polls_while_pending_and_stops_with_286(auth, users, letterhead, vip_unit):
    c = auth.client_for("market")
    r = c.post(f"/documents/contracts/{vip_unit.contracts[0].id}/expiry-notice",
               data={"contact_id": vip_unit.contacts[0].id, "fax": "0571-87654321", "boxes": ["urgent"]})
    assert r.status_code == 302
    doc = all_documents()[0]
    pending = c.get(f"/documents/{doc.public_id}/status", headers={"HX-Request": "true"})
    assert pending.status_code == 200
    assert f'hx-get="/documents/{doc.public_id}/status"' in pending.get_data(as_text=True)
    assert "hx-trigger=\"load delay:1s\"" in pending.get_data(as_text=True)
    run_burst_worker()
    ready = c.get(f"/documents/{doc.public_id}/status", headers={"HX-Request": "true"})
    assert ready.status_code == 286
    body = ready.get_data(as_text=True)
    assert "hx-get" not in body and f"/documents/{doc.public_id}/download" in body


def test_failure_shows_the_reason_and_a_retry_that_queues_it_again(auth, ready_doc):
    set_columns(Document, ready_doc.id, status="failed", error="OSError: No space left on device",
                storage_key=None, size=None)
    c = auth.client_for("cs")
    failed = c.get(f"/documents/{ready_doc.public_id}/status", headers={"HX-Request": "true"})
    assert failed.status_code == 286
    body = failed.get_data(as_text=True)
    assert "No space left on device" in body and f'hx-post="/documents/{ready_doc.public_id}/retry"' in body
    retried = c.post(f"/documents/{ready_doc.public_id}/retry", headers={"HX-Request": "true"})
    assert retried.status_code == 200 and "hx-get" in retried.get_data(as_text=True)  # polling again
    assert document(ready_doc.id).status == "pending"
    run_burst_worker()
    assert document(ready_doc.id).status == "ready"
    # a ready document cannot be "retried"
    assert c.post(f"/documents/{ready_doc.public_id}/retry").status_code == 303


def test_archive_filters_by_unit_type_and_period(auth, users, letterhead, vip_unit, unit_factory):
    other = unit_factory(status="ordinary", name="杭州市第三医院")
    ops.request_summary(vip_unit, "2025Q3", users["cs"])
    ops.request_summary(vip_unit, "2025", users["cs"])
    ops.request_summary(other, "2025", users["cs"])
    ops.request_expiry_notice(vip_unit.contracts[0], users["market"])  # period 2026-06 (its end)
    db.session.commit()
    c = auth.client_for("cs")

    def titles(**params):
        r = c.get("/documents", query_string=params, headers={"HX-Request": "true"})
        assert r.status_code == 200
        return sorted(d.title for d in all_documents() if f"/documents/{d.public_id}\"" in r.get_data(as_text=True))

    assert len(titles()) == 4
    assert titles(unit_id=other.id) == ["2025年度维护总结"]
    assert titles(q="第三医院") == ["2025年度维护总结"]
    assert titles(q="zjsdyrmyy", kind="summary") == ["2025年度维护总结", "2025年第三季度维护总结"]
    assert titles(kind="expiry_notice") == ["维护到期通知函（2025-07-01至2026-06-30）"]
    assert titles(period="2025Q3") == ["2025年第三季度维护总结"]
    assert len(titles(period="2025")) == 3
    assert titles(period="2026-06") == ["维护到期通知函（2025-07-01至2026-06-30）"]
    assert titles(period="2026Q2") == ["维护到期通知函（2025-07-01至2026-06-30）"]


def test_upload_files_a_checked_document_and_a_bad_file_writes_nothing(auth, vip_unit, document_dir):
    c = auth.client_for("market")
    r = c.post(f"/documents/units/{vip_unit.id}/upload", data={
        "kind": "contract", "title": "2025年维护合同（盖章版）", "period": "2025",
        "file": (io.BytesIO(PDF), "合同.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 302
    [doc] = all_documents()
    assert (doc.kind, doc.source, doc.status, doc.revision, doc.author.username) == ("contract", "uploaded", "ready", 1, "market")
    assert c.get(f"/documents/{doc.public_id}/download").data == PDF

    bad = c.post(f"/documents/units/{vip_unit.id}/upload", data={
        "kind": "contract", "title": "伪装的文件", "file": (io.BytesIO(b"<html><script>x</script>"), "x.pdf")},
        content_type="multipart/form-data")
    assert bad.status_code == 422
    assert len(all_documents()) == 1 and len(files_under(document_dir)) == 1

    # a new revision of the uploaded document keeps the first
    r = c.post(f"/documents/{doc.public_id}/revisions", data={"file": (io.BytesIO(PDF + b"%2"), "合同v2.pdf")},
               content_type="multipart/form-data")
    assert r.status_code == 302
    assert [(d.revision, d.series_key == doc.series_key) for d in all_documents()] == [(1, True), (2, True)]


def test_recording_that_a_letter_was_sent(auth, ready_doc):
    c = auth.client_for("cs")
    assert c.post(f"/documents/{ready_doc.public_id}/sent", data={"note": ""}).status_code == 422
    assert document(ready_doc.id).sent_at is None
    assert c.post(f"/documents/{ready_doc.public_id}/sent", data={"note": "传真至 0571-87654321，张建华收"}).status_code == 302
    d = document(ready_doc.id)
    assert d.sent_at is not None and d.sent_by.username == "cs" and "张建华" in d.sent_note


def test_letterhead_is_edited_by_the_administrator_only(auth):
    data = {"name": "某某信息技术有限公司客服部", "address": "北京市海淀区", "phone": "010-88886666",
            "fax": "010-88886667", "email": "kf@example.cn", "qq": "12345678"}
    assert auth.client_for("cs").post("/documents/settings", data=data).status_code == 404
    admin = auth.client_for("admin")
    assert admin.post("/documents/settings", data=dict(data, qq="abc")).status_code == 422
    assert admin.post("/documents/settings", data=data).status_code == 302
    from portal.documents import letterhead

    assert letterhead.current().phone == "010-88886666"
    assert "010-88886666" in admin.get("/documents/settings").get_data(as_text=True)
