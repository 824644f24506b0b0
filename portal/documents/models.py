"""The archive (OA归档): every generated or uploaded document is a row; a file is never
replaced — regenerating or uploading again adds the next revision of the same series."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.enums import LabeledEnum
from portal.core.timeutil import utcnow
from portal.extensions import db
from portal.jobs.queue import JOB_TIMEOUT, RESEND_MARGIN


class DocumentKind(LabeledEnum):
    EXPIRY_NOTICE = "expiry_notice", _l("Maintenance expiry notice")      # 维护到期通知函
    SERVICE_NOTICE = "service_notice", _l("After-sales service notice")   # 售后服务通知函
    SUMMARY = "summary", _l("Maintenance summary")                        # 维护总结
    VISIT_REPORT = "visit_report", _l("On-site service report")           # 上门服务报告 (portal/visits)
    CONTRACT = "contract", _l("Contract (signed copy)")
    OTHER = "other", _l("Other document")


GENERATED_KINDS = (DocumentKind.EXPIRY_NOTICE, DocumentKind.SERVICE_NOTICE, DocumentKind.SUMMARY,
                   DocumentKind.VISIT_REPORT)


class DocumentStatus(LabeledEnum):
    PENDING = "pending", _l("Being generated")
    READY = "ready", _l("Ready")
    FAILED = "failed", _l("Failed")


_KINDS = DocumentKind.sql_values()
_STATUSES = DocumentStatus.sql_values()


class Document(db.Model):
    """归档文件. `series_key` names what the document is (e.g. the summary of unit 7 for 2026Q3);
    each generation or upload of it is one revision, unique per series."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("series_key", "revision", name="uq_documents_series_revision"),
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("source IN ('generated','uploaded')", name="source_known"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        # A ready document always has its file.
        CheckConstraint("status <> 'ready' OR (storage_key IS NOT NULL AND size IS NOT NULL)", name="ready_has_file"),
        Index("ix_documents_customer", "customer_id", "id"),
        Index("ix_documents_kind_period", "kind", "period", "id"),
        Index("ix_documents_handover", "handover_id"),
        Index("ix_documents_public_id", "public_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What URLs carry: random, so that archive addresses cannot be guessed or counted through.
    public_id: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    series_key: Mapped[str] = mapped_column(String(120))
    revision: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer_units.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    handover_id: Mapped[int | None] = mapped_column(ForeignKey("handovers.id"))
    period: Mapped[str] = mapped_column(String(40), default="")  # 2026Q3 · 2026 · 2026-06 (letters: the month)
    params: Mapped[dict] = mapped_column(JSON, default=dict)     # what the generator was asked for
    source: Mapped[str] = mapped_column(String(10), default="generated")
    status: Mapped[str] = mapped_column(String(10), default=DocumentStatus.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: made by a scheduled job
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]  # its generation last asked for (request or retry)
    storage_key: Mapped[str | None] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[int | None]
    sent_at: Mapped[datetime | None]     # handed to the customer (fax, e-mail, post …)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_note: Mapped[str | None] = mapped_column(Text)

    customer = relationship("CustomerUnit", lazy="joined", innerjoin=True)
    contact = relationship("Contact")
    contract = relationship("Contract")
    author = relationship("User", foreign_keys=[author_id], lazy="joined")
    sent_by = relationship("User", foreign_keys=[sent_by_id])

    @property
    def kind_enum(self) -> DocumentKind:
        return DocumentKind(self.kind)

    @property
    def status_title(self) -> str:
        return str(DocumentStatus(self.status).title)

    @property
    def is_generated(self) -> bool:
        return self.source == "generated"

    @property
    def is_ready(self) -> bool:
        return self.status == DocumentStatus.READY.value

    @property
    def is_pending(self) -> bool:
        return self.status == DocumentStatus.PENDING.value

    @property
    def is_failed(self) -> bool:
        return self.status == DocumentStatus.FAILED.value

    def mark_ready(self, key: str, data: bytes, *, filename: str, pages: int | None = None) -> None:
        """The file is stored under `key`: the document is ready (generated by a job, or uploaded)."""
        self.storage_key = key
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.filename = filename[:255]
        self.pages = pages
        self.status = DocumentStatus.READY.value
        self.error = None
        self.finished_at = utcnow()

    def is_stuck(self, now: datetime | None = None) -> bool:
        """Still pending past its job's timeout (and the outbox's re-send margin): something is
        wrong (no worker running, Redis lost it); the page stops waiting and offers a retry."""
        if not (self.is_pending and self.is_generated):
            return False
        since = self.queued_at or self.created_at
        return since is not None and (now or utcnow()) - since > timedelta(seconds=JOB_TIMEOUT + RESEND_MARGIN)


class Letterhead(db.Model):
    """The customer-service department's contact block printed on every letter (one row,
    edited by an administrator; until then the LETTERHEAD_* environment variables apply)."""

    __tablename__ = "letterhead"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")      # 服务机构名称 (… 信息技术有限公司客服部)
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    fax: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    qq: Mapped[str] = mapped_column(String(40), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
