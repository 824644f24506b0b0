"""Helpers for the archive tests: run the queued jobs, read PDFs back."""
from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from portal.documents.models import Document
from portal.documents.operations import archive
from portal.extensions import db
from tests.jobs.helpers import run_burst_worker, set_columns  # noqa: F401  (re-exported)


def pdf_bytes(doc: Document) -> bytes:
    with archive().open(doc.storage_key) as f:
        return f.read()


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """Extracted text without the line breaks and spaces layout puts between words."""
    return "".join(text.split())


def fonts(data: bytes) -> list[dict]:
    """Every font the pages use: (name, subtype, whether its program is embedded)."""
    reader = PdfReader(io.BytesIO(data))
    out = []
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for _name, ref in (resources.get("/Font") or {}).items():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            target = descendants[0].get_object() if descendants else font
            descriptor = (target.get("/FontDescriptor") or {})
            descriptor = descriptor.get_object() if hasattr(descriptor, "get_object") else descriptor
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            out.append({"name": str(font.get("/BaseFont")), "subtype": str(font.get("/Subtype")),
                        "embedded": embedded})
    return out


def image_count(data: bytes) -> int:
    reader = PdfReader(io.BytesIO(data))
    n = 0
    for page in reader.pages:
        xobjects = (page.get("/Resources") or {}).get("/XObject") or {}
        n += sum(1 for _k, ref in xobjects.items() if ref.get_object().get("/Subtype") == "/Image")
    return n


def document(doc_id: int) -> Document:
    db.session.expire_all()
    return db.session.get(Document, doc_id)


def all_documents() -> list[Document]:
    db.session.expire_all()
    return list(db.session.scalars(select(Document).order_by(Document.id)))


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
