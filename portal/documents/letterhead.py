"""The customer-service department's contact block (服务机构名称, 地址, 客服电话, 传真, Email, QQ).

An administrator edits it on the archive's settings page (one row in `letterhead`); until
then the environment gives it: LETTERHEAD_NAME, LETTERHEAD_ADDRESS, LETTERHEAD_PHONE,
LETTERHEAD_FAX, LETTERHEAD_EMAIL, LETTERHEAD_QQ."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from sqlalchemy import select

from portal.core.timeutil import utcnow
from portal.documents.models import Letterhead
from portal.extensions import db

FIELDS = ("name", "address", "phone", "fax", "email", "qq")


@dataclass(frozen=True)
class ContactBlock:
    name: str = ""
    address: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    qq: str = ""

    @property
    def complete(self) -> bool:
        return all(getattr(self, f) for f in FIELDS)


def _row() -> Letterhead | None:
    return db.session.scalar(select(Letterhead).order_by(Letterhead.id).limit(1))


def from_environment() -> ContactBlock:
    return ContactBlock(**{f: os.environ.get(f"LETTERHEAD_{f.upper()}", "").strip() for f in FIELDS})


def current() -> ContactBlock:
    row = _row()
    if row is None:
        return from_environment()
    return ContactBlock(**{f: getattr(row, f) or "" for f in FIELDS})


def save(values: dict, actor) -> Letterhead:
    row = _row()
    if row is None:
        row = Letterhead()
        db.session.add(row)
    for f in FIELDS:
        setattr(row, f, (values.get(f) or "").strip())
    row.updated_by_id = actor.id if actor else None
    row.updated_at = utcnow()
    return row


def as_dict(block: ContactBlock) -> dict:
    return asdict(block)
