"""The archive's fixtures (a clean document folder, the outbox not paused, the letterhead) for the visit report."""
from tests.documents.conftest import _outbox_not_paused, document_dir, letterhead  # noqa: F401
