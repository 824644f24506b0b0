"""Helpers for the customer tests: Excel files built with openpyxl, and row counts."""
from __future__ import annotations

import io
import re

from openpyxl import Workbook
from sqlalchemy import func, select

from portal.customers.importer import COLUMNS
from portal.customers.models import Contact, Contract, CustomerUnit, MaintenanceStatusChange
from portal.extensions import db

HEADERS = list(COLUMNS.values())


def xlsx(rows: list[list], headers: list[str] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS if headers is None else headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client, content: bytes, filename: str = "客户单位.xlsx"):
    return client.post("/customers/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', html)
    assert m, f"no hidden field {name}"
    return m.group(1)


def confirm(client, preview_html: str, **override):
    data = {"token": hidden(preview_html, "token"), "fingerprint": hidden(preview_html, "fingerprint")}
    data.update(override)
    return client.post("/customers/import/confirm", data=data)


def counts() -> dict:
    db.session.expire_all()
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (CustomerUnit, Contact, Contract, MaintenanceStatusChange)}

