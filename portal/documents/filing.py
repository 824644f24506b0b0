"""Where the archive's files live: its store and the key of each revision (used by the operations that
upload and the job that generates, so neither needs the other)."""
from __future__ import annotations

import secrets

from portal.core import storage
from portal.documents.models import Document


def archive() -> storage.Store:
    """The archive's files (portal.core.storage: DOCUMENT_DIR, or the S3-compatible store)."""
    return storage.get_store(storage.ARCHIVE)


def new_key(unit_id: int, doc: Document, extension: str) -> str:
    """`<unit>/<document>-r<revision>-<random>.<ext>`: the random part keeps a key from ever being reused —
    not by a retried job whose first attempt stored its file and died before the commit, nor by an id
    that a rolled-back transaction hands out again — since the store refuses to overwrite."""
    return f"{unit_id}/{doc.id}-r{doc.revision}-{secrets.token_hex(6)}.{extension}"
