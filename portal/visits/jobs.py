"""The visit report (上门服务报告): once a visit is done and confirmed, the archive generates it and files it
like the letters (portal/documents). One report per visit: a second run finds it and does nothing."""
from __future__ import annotations

from sqlalchemy import select

from portal.core.timeutil import to_local
from portal.documents.models import Document, DocumentKind
from portal.documents.operations import request_generated
from portal.extensions import db
from portal.jobs.runtime import job
from portal.visits.models import Visit, VisitState


def series_key(visit_id: int) -> str:
    return f"visit_report:visit:{visit_id}"


def report_of(visit_id: int) -> Document | None:
    """The visit's report in the archive (its latest revision), if it has been asked for."""
    return db.session.scalar(select(Document).where(Document.series_key == series_key(visit_id))
                             .order_by(Document.revision.desc()).limit(1))


def request_report(visit: Visit) -> Document | None:
    """The report's document row, asked for once (rendered by portal.documents.jobs.render_document)."""
    if visit.state != VisitState.DONE.value:
        return None
    existing = report_of(visit.id)
    if existing is not None:
        return existing
    day = to_local(visit.arrived_at).date()
    return request_generated(Document(
        series_key=series_key(visit.id), kind=DocumentKind.VISIT_REPORT.value,
        title=f"上门服务报告（{day:%Y-%m-%d}）", customer_id=visit.customer_id, period=f"{day:%Y-%m}",
        params={"visit_id": visit.id}, author_id=visit.engineer_id))


@job
def file_visit_report(visit_id: int) -> str:
    visit = db.session.get(Visit, visit_id)
    if visit is None or visit.state != VisitState.DONE.value:
        return "nothing to do"
    doc = request_report(visit)
    return doc.series_key if doc is not None else "nothing to do"
