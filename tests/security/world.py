"""The attacker's world: one object of every kind, owned by different users and departments, so each
security test can aim at something its role may not see or touch; and a fingerprint of everything the
portal stores (every table's rows and the files on disk) to prove a refused request wrote nothing."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text
from werkzeug.datastructures import FileStorage

from portal.auth.operations import create_user
from portal.core import uploads
from portal.core.enums import MaintenanceStatus, Role
from portal.core.timeutil import utcnow
from portal.extensions import db
from tests.conftest import PASSWORD

ALL_ROLES = ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin"]
FULL_VIEW = {"cs", "dev_manager", "impl_manager", "market", "market_manager", "admin"}
ARCHIVE_ROLES = {"cs", "market", "market_manager", "admin"}


def checked_file(name: str, content: bytes) -> uploads.CheckedFile:
    return uploads.check(FileStorage(io.BytesIO(content), filename=name))


@dataclass
class World:
    users: dict
    units: dict = field(default_factory=dict)
    contacts: dict = field(default_factory=dict)
    contracts: dict = field(default_factory=dict)
    tickets: dict = field(default_factory=dict)
    attachments: dict = field(default_factory=dict)
    documents: dict = field(default_factory=dict)
    complaints: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)
    hotline: object = None
    shift: object = None
    handover: object = None
    replies: dict = field(default_factory=dict)
    visits: dict = field(default_factory=dict)


# ticket key → roles (besides the full-view ones) that may see it (SPEC §1)
VISIBLE_TO = {
    "registered": {"engineer"},          # waits in the development queue
    "impl_consult": {"impl_engineer"},   # waits in the implementation queue
    "mine": {"engineer"},                # assigned to `engineer`
    "others": set(),                     # assigned to `engineer2`
    "impl_others": set(),                # assigned to `impl_engineer2`
    "closed_others": {"engineer", "impl_engineer"},  # reference only, personal data masked
    "awaiting_market": set(),
}


def may_see(role: str, ticket_key: str) -> bool:
    return role in FULL_VIEW or role in VISIBLE_TO[ticket_key]


def build_world(users, ticket_factory, unit_factory) -> World:
    from portal.complaints import operations as complaints
    from portal.customers import operations as customers
    from portal.documents import operations as documents
    from portal.handover import operations as handover
    from portal.hotline import operations as hotline
    from portal.hotline.roster import add_to_shift
    from portal.notifications.models import Notification
    from portal.tickets import operations as ops
    from portal.tickets.models import Attachment

    users = dict(users)
    users["duty"] = create_user("duty", PASSWORD, "值班经理", [Role.CS, Role.DUTY_MANAGER], "cs")
    w = World(users=users)
    soon = utcnow() + timedelta(days=2)

    def act(t, action, who, **data):
        ops.take_action(t, action, users[who], data)
        db.session.commit()

    a = w.units["a"] = unit_factory(name="甲市人民医院")
    b = w.units["b"] = unit_factory(name="乙县中医院")
    w.units["stopped"] = unit_factory(status=MaintenanceStatus.STOPPED, name="丙区停保医院")
    project = w.units["project"] = unit_factory(name="丁市项目医院")
    project.is_project = True
    w.contacts["a"] = customers.add_contact(a, name="张建华", department="信息科", phone="13800138001")
    w.contacts["b"] = customers.add_contact(b, name="李秀英", department="财务科", phone="13900139002")
    w.contacts["project"] = customers.add_contact(project, name="王芳", department="信息科", phone="13700137003")
    w.contracts["a"] = customers.add_contract(a, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31),
                                              fee=Decimal("10000"))
    w.contracts["b"] = customers.add_contract(b, start_date=date(2025, 1, 1), end_date=date(2025, 12, 31),
                                              fee=Decimal("8000"))
    db.session.commit()

    w.tickets["registered"] = ticket_factory(unit=a, summary="待分析的问题")
    w.tickets["impl_consult"] = ticket_factory(unit=a, type="consultation", summary="咨询问题")
    t = w.tickets["mine"] = ticket_factory(unit=a, summary="工程师甲的问题")
    act(t, "assign", "dev_manager", assignee_id=users["engineer"].id, deadline=soon)
    t = w.tickets["others"] = ticket_factory(unit=b, summary="工程师乙的问题", reporter_phone="13600136000")
    act(t, "assign", "dev_manager", assignee_id=users["engineer2"].id, deadline=soon)
    t = w.tickets["impl_others"] = ticket_factory(unit=b, summary="实施乙的问题")
    act(t, "route_to_impl", "dev_manager", reason="实施问题")
    act(t, "assign", "impl_manager", assignee_id=users["impl_engineer2"].id, deadline=soon)
    t = w.tickets["closed_others"] = ticket_factory(unit=b, summary="已关闭的问题", reporter_phone="13912345678")
    act(t, "assign", "dev_manager", assignee_id=users["engineer2"].id, deadline=soon)
    act(t, "resolve", "engineer2", process="p", result="r", hours_spent=1)
    act(t, "callback", "cs", solved=True, satisfaction=5, method="phone", text="回访满意")
    act(t, "close", "market")
    w.tickets["awaiting_market"] = ticket_factory(unit=w.units["stopped"], summary="停保客户")

    for key in ("mine", "others", "impl_others", "closed_others"):
        t = w.tickets[key]
        ops.take_action(t, "comment", users["cs"], {"text": "附件"},
                        files=[checked_file(f"{key}.log", f"log of {key}\n".encode())])
        db.session.commit()
        w.attachments[key] = db.session.scalar(select(Attachment).where(Attachment.ticket_id == t.id))

    w.documents["a"] = documents.upload(a, checked_file("签字合同.pdf", _tiny_pdf()), users["cs"], kind="contract",
                                        title="合同扫描件")
    db.session.commit()

    w.complaints["received"] = complaints.register(
        users["cs"], customer_id=a.id, channel="phone", complainant="赵先生", content="响应太慢",
        handler_id=users["impl_manager"].id)
    c = w.complaints["handled"] = complaints.register(
        users["cs"], customer_id=b.id, channel="phone", complainant="钱女士", content="没人回电话",
        handler_id=users["market_manager"].id)
    db.session.commit()
    complaints.handle(c, users["market_manager"], handling="已回电", outcome="客户接受")
    db.session.commit()

    w.hotline = hotline.create_record(users["cs"], hotline.RecordInput(
        unit_name=a.name, phone="13800138001", contact_name="张建华", content="系统登录不了", customer_id=a.id))
    w.shift = add_to_shift(date.today() + timedelta(days=3), "am", users["cs"].id, users["duty"])
    db.session.commit()
    w.handover = handover.start(project, users["cs"])
    db.session.commit()

    # On-site visits (issue 15): 工程师乙's and 实施乙's tickets need one each
    from portal.visits.operations import open_visit_of_ticket

    for key in ("others", "impl_others"):
        ops.take_action(w.tickets[key], "need_onsite", users["cs"], {"reason": "电话无法解决"})
        db.session.commit()
        w.visits[key] = open_visit_of_ticket(w.tickets[key].id)

    # One unread notification of every user who has one (another user's is what an attacker aims at).
    for n in db.session.scalars(select(Notification).where(Notification.read_at.is_(None)).order_by(Notification.id)):
        w.notes.setdefault(n.user_id, n)
    if users["cs"].id not in w.notes:
        w.notes[users["cs"].id] = Notification(key="test:cs", user_id=users["cs"].id, kind="assign", text="给客服的提醒")
        db.session.add(w.notes[users["cs"].id])
        db.session.commit()

    # 常用语: 客服's own (one archived) and a shared one kept by the managers
    from portal.replies import operations as replies

    w.replies["personal"] = replies.create(users["cs"], kind="callback", title="客服的回访", body="您好{联系人}",
                                           shared=False)
    w.replies["shared"] = replies.create(users["dev_manager"], kind="deadline", title="告知期限", body="{期限}前",
                                         shared=True)
    w.replies["archived"] = replies.create(users["cs"], kind="general", title="旧的", body="旧", shared=False)
    replies.archive(w.replies["archived"], users["cs"])
    db.session.commit()
    return w


def _tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


# --- "nothing was written": every table's rows and every stored file ---------------------------------

def _files(root: Path) -> list[tuple[str, str]]:
    out = []
    if root.exists():
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out.append((str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest()))
    return out


def storage_roots() -> list[Path]:
    from portal.core import storage

    roots = [Path(current_app.config["UPLOAD_DIR"])]
    root = storage.local_root(storage.ARCHIVE)
    if root is not None:
        roots.append(root)
    return roots


def fingerprint() -> dict:
    """Row count and a content hash of every table, and the files under the upload and archive folders."""
    # Through the session's own connection (requests in tests share it; a second SQLite connection
    # would wait for its write lock), ending its transaction before and after.
    db.session.commit()
    out = {}
    for table in db.metadata.sorted_tables:
        cols = ", ".join(f'"{c.name}"' for c in table.columns)
        order = ", ".join(f'"{c.name}"' for c in (table.primary_key.columns or table.columns))
        rows = db.session.execute(text(f'SELECT {cols} FROM "{table.name}" ORDER BY {order}')).all()
        digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
        out[table.name] = (len(rows), digest)
    db.session.commit()
    for root in storage_roots():
        out[f"files:{root}"] = _files(root)
    return out


def changed(before: dict, after: dict) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
