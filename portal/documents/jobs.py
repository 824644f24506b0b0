"""Generating a document: `render_document(doc_id)`, run by an RQ worker (enqueued through the outbox).

Reads what the document needs and releases the database (rendering takes a moment and must not
hold SQLite's write lock), renders the PDF, stores it whole under a key of its own (portal.core.storage),
then marks the row ready in one short transaction — together with what follows from it (the
summary reminder settled, the handover checked). A job killed anywhere before that commit leaves
no half file, no file the database names (one killed after storing leaves a whole file nothing names)
and a row still pending, and RQ runs it again under a new key; a second run of a finished document
does nothing.
"""
from __future__ import annotations

import logging

from portal.core.kernel import kernel
from portal.documents import content, render
from portal.documents.models import Document, DocumentKind, DocumentStatus
from portal.documents.filing import archive, new_key
from portal.extensions import db
from portal.jobs.runtime import job

log = logging.getLogger(__name__)


def storage_key(doc: Document) -> str:
    return new_key(doc.customer_id, doc, "pdf")  # a fresh key per attempt (see new_key)


def _load(doc_id: int) -> Document | None:
    doc = db.session.get(Document, doc_id)
    if doc is None or doc.is_ready or not doc.is_generated:
        return None
    return doc


def _render(doc_id: int) -> tuple[render.Rendered, str, str] | None:
    doc = _load(doc_id)
    if doc is None:
        return None
    built = content.build(doc)
    is_fax, key = doc.kind == DocumentKind.EXPIRY_NOTICE.value, storage_key(doc)
    db.session.commit()  # nothing written: just let other writers in while we render
    rendered = render.render_pdf(built.html)
    if is_fax and rendered.pages != 1:  # the fax form states its page count
        built = content.build(db.session.get(Document, doc_id), pages=rendered.pages)
        db.session.commit()
        rendered = render.render_pdf(built.html)
    return rendered, built.filename, key


@job
def render_document(doc_id: int) -> str:
    try:
        result = _render(doc_id)
        if result is None:
            return "nothing to do"
        rendered, filename, key = result
        archive().save(key, rendered.pdf)
    except Exception as e:
        try:
            _record_failure(doc_id, e)
        except Exception:
            log.exception("could not record the failure of document %s", doc_id)
        raise  # RQ retries with backoff (portal.jobs.queue.RETRY)
    doc = _load(doc_id)
    if doc is None:
        return "done meanwhile"
    doc.mark_ready(key, rendered.pdf, filename=filename, pages=rendered.pages)
    after_ready(doc)
    return key


def after_ready(doc: Document) -> None:
    """Tell whoever cares, in this transaction (the service plan settles a summary's reminder; the
    handover notes a letter sent)."""
    kernel.emit("document_ready", document=doc)


def _record_failure(doc_id: int, error: BaseException) -> None:
    """Show the reason on the document (in its own transaction: the job's is rolled back)."""
    db.session.rollback()
    doc = db.session.get(Document, doc_id)
    if doc is None or doc.is_ready:
        return
    doc.status = DocumentStatus.FAILED.value
    doc.error = f"{type(error).__name__}: {error}"[:1000]
    doc.attempts = (doc.attempts or 0) + 1
    db.session.commit()
    log.warning("document %s failed: %s", doc_id, doc.error)
