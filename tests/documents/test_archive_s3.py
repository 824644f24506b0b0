"""The archive in the S3-compatible store (FILE_STORAGE=s3, moto's server over HTTP): a generated letter is
filed by the job into the bucket and downloaded through the access-checked route byte for byte; an uploaded
document and its next revision are two objects, the first untouched; nothing lands in DOCUMENT_DIR."""
from __future__ import annotations

import hashlib
import io

from pypdf import PdfReader

from portal.documents import operations as ops
from tests.conftest import s3_objects
from tests.documents.helpers import all_documents, document, files_under, run_burst_worker

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_generated_letter_is_filed_in_the_bucket_and_downloaded_byte_identical(auth, users, letterhead, vip_unit,
                                                                               document_dir, s3_files):
    doc = ops.request_contact_letter(vip_unit.contacts[0], users["cs"])
    run_burst_worker()
    ready = document(doc.id)
    assert ready.status == "ready", ready.error
    objects = s3_objects(s3_files)
    assert list(objects) == [f"{s3_files['prefix']}/{ready.storage_key}"]
    stored = objects[f"{s3_files['prefix']}/{ready.storage_key}"]
    assert hashlib.sha256(stored).hexdigest() == ready.sha256 and len(stored) == ready.size
    assert len(PdfReader(io.BytesIO(stored)).pages) >= 1
    assert files_under(document_dir) == []

    r = auth.client_for("cs").get(f"/documents/{ready.public_id}/download")
    assert r.status_code == 200 and r.data == stored and r.mimetype == "application/pdf"
    assert r.headers["Content-Length"] == str(len(stored))
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["ETag"] == f'"{ready.sha256}"'
    assert auth.client_for("engineer").get(f"/documents/{ready.public_id}/download").status_code == 404


def test_an_uploaded_document_and_its_revision_are_two_objects_and_the_first_is_untouched(auth, vip_unit,
                                                                                         document_dir, s3_files):
    c = auth.client_for("market")
    r = c.post(f"/documents/units/{vip_unit.id}/upload", data={
        "kind": "contract", "title": "2025年维护合同（盖章版）", "period": "2025",
        "file": (io.BytesIO(PDF), "合同.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 302
    [first] = all_documents()
    r = c.post(f"/documents/{first.public_id}/revisions", data={"file": (io.BytesIO(PDF + b"%2"), "合同v2.pdf")},
               content_type="multipart/form-data")
    assert r.status_code == 302
    first, second = all_documents()
    p = s3_files["prefix"]
    assert s3_objects(s3_files) == {f"{p}/{first.storage_key}": PDF, f"{p}/{second.storage_key}": PDF + b"%2"}
    assert c.get(f"/documents/{first.public_id}/download").data == PDF
    assert c.get(f"/documents/{second.public_id}/download").data == PDF + b"%2"
    assert files_under(document_dir) == []


def test_a_document_whose_object_is_gone_is_404_not_500(auth, vip_unit, document_dir, s3_files):
    c = auth.client_for("market")
    c.post(f"/documents/units/{vip_unit.id}/upload", data={"kind": "contract", "title": "合同",
                                                          "file": (io.BytesIO(PDF), "合同.pdf")},
           content_type="multipart/form-data")
    [doc] = all_documents()
    s3_files["client"].delete_object(Bucket=s3_files["bucket"], Key=f"{s3_files['prefix']}/{doc.storage_key}")
    assert c.get(f"/documents/{doc.public_id}/download").status_code == 404
