"""What each generated document says: its data, read from the database when the job runs, and
the Chinese template it is printed from (templates/documents/pdf/). Letters are always in
Chinese, whatever the language of the person who asked for them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup

from portal.core.enums import MaintenanceStatus, State, TicketType
from portal.core.policy import policy_for
from portal.core.timeutil import to_local
from portal.documents import letterhead, render, summary
from portal.documents.models import Document, DocumentKind
from portal.visits.report import report_context

# The fax form's boxes, in the source's order, and which the source marks (■) by default.
FAX_BOXES = [("annotate", "请批注"), ("reply", "请答复"), ("urgent", "紧急"), ("review", "请审阅"), ("circulate", "请传阅")]
FAX_BOXES_DEFAULT = ["annotate", "reply", "urgent", "circulate"]


def cn_date(d: date | None, with_year: bool = True) -> str:
    if d is None:
        return ""
    return f"{d.year}年{d.month}月{d.day}日" if with_year else f"{d.month}月{d.day}日"


def time_left(today: date, end: date) -> tuple[int, int]:
    """(whole months, days beyond them) from today until the service stops (the day after `end`); (0, 0)
    once it has. Never rounded up: a letter must not promise a month the customer does not have."""
    stop = end + timedelta(days=1)
    if today >= stop:
        return 0, 0
    delta = relativedelta(stop, today)  # calendar months: 31 Jan + 1 month is 28 Feb
    months = delta.years * 12 + delta.months
    return months, (stop - (today + relativedelta(months=months))).days


def document_date(doc: Document) -> date:
    return to_local(doc.created_at).date()


@dataclass
class Built:
    html: str
    filename: str


def build(doc: Document, pages: int = 1) -> Built:
    builders = {
        DocumentKind.EXPIRY_NOTICE.value: _expiry_notice,
        DocumentKind.SERVICE_NOTICE.value: _service_notice,
        DocumentKind.SUMMARY.value: _summary,
        DocumentKind.VISIT_REPORT.value: _visit_report,
    }
    with force_locale("zh_CN"):
        if doc.kind == DocumentKind.EXPIRY_NOTICE.value:
            return _expiry_notice(doc, pages)
        return builders[doc.kind](doc)


def _common(doc: Document) -> dict:
    return dict(doc=doc, unit=doc.customer, lh=letterhead.current(), today=document_date(doc), cn_date=cn_date,
                font_css=Markup(render.FONT_CSS), font_family=render.FONT_FAMILY)


def _filename(doc: Document, what: str) -> str:
    return f"{doc.customer.name}-{what}-第{doc.revision}版.pdf"


# --- 维护到期通知函 -----------------------------------------------------------------

def _expiry_notice(doc: Document, pages: int = 1) -> Built:
    ctx = _common(doc)
    contract, unit, contact = doc.contract, doc.customer, doc.contact
    params = doc.params or {}
    today = ctx["today"]
    renew_by = date.fromisoformat(params["renew_by"]) if params.get("renew_by") else max(contract.end_date, today)
    checked = set(params.get("boxes", FAX_BOXES_DEFAULT))
    author = doc.author
    ctx.update(
        contract=contract,
        recipient=f"{unit.name} {contact.name}" if contact else unit.name,
        recipient_fax=params.get("fax", ""),
        recipient_phone=(contact.phone if contact and contact.phone else unit.phone),
        sender=author.display_name if author else ctx["lh"].name,
        boxes=[(label, key in checked) for key, label in FAX_BOXES],
        left=time_left(today, contract.end_date),
        renew_by=cn_date(renew_by, with_year=renew_by.year != today.year),
        pages=pages,
    )
    return Built(render_template("documents/pdf/expiry_notice.html", **ctx), _filename(doc, "维护到期通知函"))


# --- 售后服务通知函 -----------------------------------------------------------------

def _service_notice(doc: Document) -> Built:
    ctx = _common(doc)
    unit, contact = doc.customer, doc.contact
    status = unit.maintenance_status
    contract = doc.contract or unit.current_contract(ctx["today"])
    ctx.update(
        contact=contact, contract=contract, for_contract=doc.contract_id is not None,
        for_handover=doc.handover_id is not None,
        level=status, vip=status == MaintenanceStatus.VIP.value, stopped=status == MaintenanceStatus.STOPPED.value,
        level_title={"vip": "VIP维护", "ordinary": "普通维护", "stopped": "已停止维护"}[status],
        policy=policy_for(status),  # the numbers of the customer's own maintenance level
    )
    who = contact.name if contact else "单位"
    return Built(render_template("documents/pdf/service_notice.html", **ctx), _filename(doc, f"售后服务通知函-{who}"))


# --- 维护总结 -----------------------------------------------------------------------

def period_title(period_key: str) -> str:
    p = summary.parse_period(period_key)
    if p is None:
        return period_key
    if summary.is_quarter(p):
        return f"{p.start.year}年第{'一二三四'[int(p.key[-1]) - 1]}季度"
    return f"{p.start.year}年度"


def _summary(doc: Document) -> Built:
    ctx = _common(doc)
    unit = doc.customer
    period = summary.parse_period(doc.period)
    figures = summary.compute(unit.id, period, unit.maintenance_status, as_of=doc.created_at)
    ctx.update(
        f=figures, period=period, period_title=period_title(doc.period),
        period_last_day=period.end - timedelta(days=1),
        contract=unit.current_contract(min(ctx["today"], period.end - timedelta(days=1))),
        type_title={t.value: str(t.title) for t in TicketType},
        state_title={s.value: str(s.title) for s in State},
        level_title={"vip": "VIP维护", "ordinary": "普通维护", "stopped": "已停止维护"}[unit.maintenance_status],
        pct=lambda x: "—" if x is None else f"{x * 100:.1f}%",
        hours=lambda h: "—" if h is None else (f"{h:.1f} 小时" if h < 48 else f"{h / 24:.1f} 天"),
        local_date=lambda dt: cn_date(to_local(dt).date()) if dt else "",
    )
    return Built(render_template("documents/pdf/summary.html", **ctx),
                 _filename(doc, f"{period_title(doc.period)}维护总结"))


# --- 上门服务报告 (portal/visits) -------------------------------------------------------

def _visit_report(doc: Document) -> Built:
    ctx = _common(doc)
    ctx.update(report_context(doc.params["visit_id"]))
    ctx["local"] = lambda dt: to_local(dt).strftime("%Y-%m-%d %H:%M") if dt else "—"
    return Built(render_template("documents/pdf/visit_report.html", **ctx), _filename(doc, f"上门服务报告-{ctx['day']}"))
