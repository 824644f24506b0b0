"""Import customer units and contacts from an Excel sheet (.xlsx), one row per contact.

Two steps: `read_workbook` + `build_plan` give a preview (nothing written); the parsed rows wait in
Redis under a random token (`stash` / `unstash`) until the user confirms; `apply_plan` then writes
everything in the caller's transaction — and only if a fresh `build_plan` finds no problem at all.
Column headers are Chinese because the department's sheets are; any order is accepted.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.auth.models import User
from portal.core import uploads
from portal.core.enums import MaintenanceStatus
from portal.core.redis_conn import get_redis
from portal.core.validators import normalize_cn_phone
from portal.customers import operations as ops
from portal.customers.forms import EMAIL_PATTERN
from portal.customers.models import Contact, CustomerUnit
from portal.extensions import db

# key → header in the sheet
COLUMNS = {
    "unit_name": "单位名称", "address": "地址", "unit_phone": "单位电话", "user_count": "用户数",
    "status": "维护状态", "contact_name": "联系人", "department": "科室", "contact_phone": "联系电话",
    "email": "邮箱",
}
REQUIRED_COLUMNS = ("unit_name", "status", "contact_name", "contact_phone")
SHORT_COLUMNS = ("unit_phone", "user_count", "status", "contact_name", "department", "contact_phone")
UNIT_FIELDS = ("address", "unit_phone", "user_count", "status")
CONTACT_FIELDS = ("contact_name", "department", "contact_phone", "email")
STATUS_BY_LABEL = {"已停止维护": MaintenanceStatus.STOPPED, "普通维护": MaintenanceStatus.ORDINARY,
                   "VIP维护": MaintenanceStatus.VIP}
MAX_LENGTH = {"unit_name": 200, "address": 300, "contact_name": 64, "department": 100, "email": 255}
MAX_ROWS = 3000
MAX_COLUMNS = 40
HEADER_SEARCH_ROWS = 5  # non-empty rows searched for the header row
MAX_UNPACKED_BYTES = 60 * 1024 * 1024  # a 10 MB .xlsx that unpacks to more is not a contact list
TTL_SECONDS = 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
XLSX_MIME = uploads.MIME["xlsx"]

FIELD_TITLES = {
    "address": _l("address"), "unit_phone": _l("unit phone"), "user_count": _l("number of users"),
    "status": _l("maintenance status"),
}


class ImportFileError(Exception):
    """The file as a whole cannot be used (wrong type, unreadable, headers missing)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- step 1: read --------------------------------------------------------------

def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _header_key(text: str) -> str | None:
    text = _header_name(text)
    for key, title in COLUMNS.items():
        if text == title:
            return key
    return None


def read_workbook(upload: FileStorage) -> tuple[str, list[dict]]:
    """(file name, rows) from an uploaded .xlsx; each row is {"line": n, <column key>: text}."""
    if upload is None or not upload.filename:
        raise ImportFileError(_l("Choose an Excel file (.xlsx)."))
    ext = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if ext == "xls":
        raise ImportFileError(_l("Old Excel files (.xls) cannot be read. Save the sheet as .xlsx in Excel and "
                                 "upload it again."))
    if ext != "xlsx":
        raise ImportFileError(_l("Only Excel files (.xlsx) can be imported."))
    try:
        checked = uploads.check(upload)
    except uploads.UploadError as e:
        raise ImportFileError(_l("The file cannot be read as an Excel workbook (.xlsx): %(why)s", why=e.message))
    try:
        with zipfile.ZipFile(io.BytesIO(checked.content)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNPACKED_BYTES:
                raise ImportFileError(_l("The workbook is too large. Import at most %(n)d rows at a time.",
                                         n=MAX_ROWS))
        wb = load_workbook(io.BytesIO(checked.content), read_only=True, data_only=True)
    except ImportFileError:
        raise
    except Exception:  # a damaged or disguised file can fail anywhere inside openpyxl
        raise ImportFileError(_l("The file is damaged or is not an Excel workbook (.xlsx)."))
    try:
        return checked.filename, _rows_of(wb)
    finally:
        wb.close()


def _header_positions(texts: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = _header_key(text)
        if key is None:
            continue
        if key in positions:
            raise ImportFileError(_l("The column “%(col)s” appears twice.", col=COLUMNS[key]))
        positions[key] = i
    return positions


def _rows_of(wb) -> list[dict]:
    if not wb.worksheets:
        raise ImportFileError(_l("The workbook has no sheet."))
    rows = wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS)
    positions: dict[str, int] = {}
    first_texts: list[str] | None = None
    skipped = 0
    out: list[dict] = []
    for line, values in enumerate(rows, start=1):
        texts = [_cell_text(v) for v in values]
        if not any(texts):
            continue
        if not positions:
            # The header row is the first one naming 单位名称; a title row or two above it is common.
            first_texts = first_texts or texts
            positions = _header_positions(texts) if COLUMNS["unit_name"] in map(_header_name, texts) else {}
            skipped += 1
            if not positions and skipped >= HEADER_SEARCH_ROWS:
                break
            if positions:
                _require_columns(positions)
            continue
        if len(out) >= MAX_ROWS:
            raise ImportFileError(_l("The sheet has more than %(n)d rows. Split it into several files.", n=MAX_ROWS))
        row = {"line": line}
        for key in COLUMNS:
            i = positions.get(key)
            row[key] = texts[i] if i is not None and i < len(texts) else ""
        out.append(row)
    if first_texts is None:
        raise ImportFileError(_l("The sheet is empty."))
    if not positions:
        _require_columns(_header_positions(first_texts))
    if not out:
        raise ImportFileError(_l("The sheet has headers but no data rows."))
    return out


def _header_name(text: str) -> str:
    return re.sub(r"[\s*＊]", "", text)


def _require_columns(positions: dict[str, int]) -> None:
    missing = [COLUMNS[k] for k in REQUIRED_COLUMNS if k not in positions]
    if missing:
        raise ImportFileError(_l("Required columns are missing: %(cols)s. The first row must hold the "
                                 "headers; download the template to see them.", cols="、".join(missing)))


# --- step 2: plan (the preview, and the check before writing) ----------------------

NEW_UNIT = "new_unit"                    # creates the unit (and its contact, if the row has one)
CONTACT_FOR_NEW_UNIT = "contact_for_new_unit"  # another contact of a unit created by an earlier row
CONTACT_FOR_EXISTING = "contact_for_existing"  # an existing unit gets a contact
NOTHING = "nothing"                      # everything in the row is already there

ACTION_TITLES = {
    NEW_UNIT: _l("New unit"),
    CONTACT_FOR_NEW_UNIT: _l("Contact of the new unit"),
    CONTACT_FOR_EXISTING: _l("Existing unit gets a contact"),
    NOTHING: _l("Already there — nothing to do"),
}


@dataclass
class PlannedRow:
    line: int
    values: dict                     # the cells as text, shown in the preview
    action: str = NOTHING
    has_contact: bool = False
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    # cleaned values
    phone: str = ""
    contact_phone: str = ""
    user_count: int | None = None
    status: MaintenanceStatus | None = None
    # for the first row of a new unit: the unit as it will be created (merged from all its rows)
    unit_values: dict = field(default_factory=dict)

    @property
    def action_title(self):
        return ACTION_TITLES[self.action]

    def unit_value(self, key: str):
        """The cleaned value of one of the unit's cells, None when empty or invalid."""
        if key == "address":
            return self.values["address"] or None
        if key == "unit_phone":
            return self.phone or None
        if key == "user_count":
            return self.user_count
        return self.status.value if self.status else None


@dataclass
class Plan:
    rows: list[PlannedRow]

    @property
    def problem_rows(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.problems]

    @property
    def ok(self) -> bool:
        return not self.problem_rows

    @property
    def new_units(self) -> int:
        """Counted over the rows without problems (the others cannot be imported anyway)."""
        return sum(1 for r in self.rows if r.action == NEW_UNIT and not r.problems)

    @property
    def new_contacts(self) -> int:
        return sum(1 for r in self.rows if r.has_contact and r.action != NOTHING and not r.problems)

    def fingerprint(self) -> str:
        """Changes when what would be written changes (e.g. someone created one of the units meanwhile)."""
        data = [(r.line, r.action, r.has_contact, len(r.problems)) for r in self.rows]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:32]


def _existing_units(names: set[str]) -> dict[str, CustomerUnit]:
    found: dict[str, CustomerUnit] = {}
    names_list = sorted(names)
    for i in range(0, len(names_list), 500):
        for unit in db.session.scalars(select(CustomerUnit).where(CustomerUnit.name.in_(names_list[i:i + 500]))):
            found[unit.name] = unit
    return found


def _existing_contacts(unit_ids: list[int]) -> set[tuple[int, str, str]]:
    out: set[tuple[int, str, str]] = set()
    for i in range(0, len(unit_ids), 500):
        for c in db.session.scalars(select(Contact).where(Contact.customer_id.in_(unit_ids[i:i + 500]))):
            out.add((c.customer_id, c.name.strip(), normalize_cn_phone(c.phone) or c.phone.strip()))
    return out


def _parse_status(text: str) -> MaintenanceStatus | None:
    label = text.replace(" ", "").replace("\u3000", "")
    if label[:3].lower() == "vip":
        label = "VIP" + label[3:]
    return STATUS_BY_LABEL.get(label)


def _check_row(row: PlannedRow, may_set_status: bool = True) -> None:
    """Problems a row has on its own (without looking at other rows or the database). Without the
    permission to set a maintenance status the column is not used: the row says so if it asks for another
    status than 普通维护, the status every new unit of theirs gets."""
    v = row.values
    if not v["unit_name"]:
        row.problems.append(_l("The unit name is missing."))
    for key, limit in MAX_LENGTH.items():
        if len(v[key]) > limit:
            row.problems.append(_l("“%(col)s” is too long (at most %(n)d characters).", col=COLUMNS[key], n=limit))
    if v["unit_phone"]:
        row.phone = normalize_cn_phone(v["unit_phone"]) or ""
        if not row.phone:
            row.problems.append(_l("Unit phone “%(v)s” is not a valid mainland mobile or landline number.",
                                   v=v["unit_phone"]))
    if v["user_count"]:
        count = v["user_count"].replace(",", "")
        if re.fullmatch(r"\d{1,9}", count):
            row.user_count = int(count)
        else:
            row.problems.append(_l("Number of users “%(v)s” is not a whole number.", v=v["user_count"]))
    if v["status"] and not may_set_status:
        if _parse_status(v["status"]) != MaintenanceStatus.ORDINARY:
            row.notes.append(_l("Maintenance status “%(v)s” not used: only the market manager sets a unit's "
                                "maintenance status (a new unit starts as 普通维护).", v=v["status"]))
    elif v["status"]:
        row.status = _parse_status(v["status"])
        if row.status is None:
            row.problems.append(_l("Unknown maintenance status “%(v)s” (use 已停止维护, 普通维护 or VIP维护).",
                                   v=v["status"]))
    row.has_contact = any(v[k] for k in CONTACT_FIELDS)
    if row.has_contact:
        if not v["contact_name"]:
            row.problems.append(_l("The contact's name is missing."))
        if not v["contact_phone"]:
            row.problems.append(_l("The contact's phone is missing."))
        else:
            row.contact_phone = normalize_cn_phone(v["contact_phone"]) or ""
            if not row.contact_phone:
                row.problems.append(_l("Contact phone “%(v)s” is not a valid mainland mobile or landline number.",
                                       v=v["contact_phone"]))
        if v["email"] and not re.fullmatch(EMAIL_PATTERN, v["email"]):
            row.problems.append(_l("E-mail “%(v)s” is not a valid address.", v=v["email"]))


def build_plan(raw_rows: list[dict], may_set_status: bool = True) -> Plan:
    """What importing these rows would do, and every row's problems. Reads the database, writes nothing.
    `may_set_status`: whether the importing user may set maintenance statuses (customers.set_status)."""
    rows = [PlannedRow(line=int(r["line"]), values={k: str(r.get(k) or "").strip() for k in COLUMNS})
            for r in raw_rows]
    for row in rows:
        _check_row(row, may_set_status)

    existing = _existing_units({r.values["unit_name"] for r in rows if r.values["unit_name"]})
    known_contacts = _existing_contacts([u.id for u in existing.values()])
    seen: dict[tuple, int] = {}                  # row key → first line with it
    first_of_new_unit: dict[str, PlannedRow] = {}
    for row in rows:
        v = row.values
        name = v["unit_name"]
        if not name:
            continue
        key = (name, v["contact_name"], row.contact_phone or v["contact_phone"]) if row.has_contact else (name,)
        if key in seen:
            row.problems.append(_l("Same as row %(line)d.", line=seen[key]))
            continue
        seen[key] = row.line
        unit = existing.get(name)
        if unit is not None:
            _plan_for_existing(row, unit, known_contacts)
            continue
        first = first_of_new_unit.setdefault(name, row)
        row.action = NEW_UNIT if first is row else (CONTACT_FOR_NEW_UNIT if row.has_contact else NOTHING)
        _merge_unit_values(row, first)

    for name, first in first_of_new_unit.items():
        status_given = any(r.values["status"] for r in rows if r.values["unit_name"] == name)
        if may_set_status and "status" not in first.unit_values and not status_given:
            first.problems.append(_l("A new unit needs a maintenance status (已停止维护, 普通维护 or VIP维护)."))
    return Plan(rows=rows)


def _merge_unit_values(row: PlannedRow, first: PlannedRow) -> None:
    """Rows of one new unit may leave the unit's cells empty, but must not contradict each other."""
    for key in UNIT_FIELDS:
        mine = row.unit_value(key)
        if mine is None:
            continue
        if key in first.unit_values and first.unit_values[key][0] != mine:
            row.problems.append(_l("The %(what)s differs from row %(line)d of the same unit.",
                                   what=FIELD_TITLES[key], line=first.unit_values[key][1]))
        else:
            first.unit_values.setdefault(key, (mine, row.line))


def _plan_for_existing(row: PlannedRow, unit: CustomerUnit, known_contacts: set) -> None:
    db_values = {"address": unit.address, "unit_phone": unit.phone, "user_count": unit.user_count,
                 "status": unit.maintenance_status}
    if any(row.unit_value(k) is not None and row.unit_value(k) != db_values[k] for k in UNIT_FIELDS):
        row.notes.append(_l("The unit already exists; its details and maintenance status stay as they are."))
    if not row.has_contact:
        row.action = NOTHING
    elif (unit.id, row.values["contact_name"], row.contact_phone) in known_contacts:
        row.action = NOTHING
        row.notes.append(_l("This contact is already recorded for the unit."))
    else:
        row.action = CONTACT_FOR_EXISTING


# --- step 3: write ---------------------------------------------------------------

def apply_plan(plan: Plan, actor: User, filename: str) -> tuple[int, int]:
    """Write the plan (caller commits once). Refuses a plan with any problem. → (units, contacts)."""
    if not plan.ok:
        raise ops.CustomerError(_l("The file has problems; nothing was imported."))
    reason = str(_l("Imported from Excel (%(file)s)", file=filename))
    created: dict[str, CustomerUnit] = {}
    existing = _existing_units({r.values["unit_name"] for r in plan.rows if r.action != NOTHING})
    units = contacts = 0
    for row in plan.rows:
        v = row.values
        if row.action == NEW_UNIT:
            u = {k: value for k, (value, _line) in row.unit_values.items()}
            created[v["unit_name"]] = ops.create_unit(
                v["unit_name"], address=u.get("address", ""), phone=u.get("unit_phone", ""),
                user_count=u.get("user_count", 0),
                status=MaintenanceStatus(u.get("status", MaintenanceStatus.ORDINARY)),  # (no permission: the default)
                actor=actor, reason=reason)
            units += 1
        if row.action == NOTHING or not row.has_contact:
            continue
        unit = created.get(v["unit_name"]) or existing[v["unit_name"]]
        ops.add_contact(unit, name=v["contact_name"], department=v["department"], phone=row.contact_phone,
                        email=v["email"])
        contacts += 1
    return units, contacts


# --- keeping the rows between the two steps ------------------------------------------

def _key(token: str) -> str:
    return f"customers:import:{token}"


def stash(rows: list[dict], filename: str, user: User) -> str:
    """Keep the parsed rows server-side for TTL_SECONDS; return the random token that names them."""
    token = secrets.token_urlsafe(24)
    data = json.dumps({"user_id": user.id, "filename": filename, "rows": rows}, ensure_ascii=False)
    get_redis().set(_key(token), data, ex=TTL_SECONDS)
    return token


def unstash(token: str, user: User) -> tuple[str, list[dict]] | None:
    """(file name, rows) if the token exists and belongs to the user, else None."""
    if not token or not TOKEN_RE.match(token):
        return None
    raw = get_redis().get(_key(token))
    if raw is None:
        return None
    data = json.loads(raw)
    if data.get("user_id") != user.id:
        return None
    return data["filename"], data["rows"]


def claim(token: str) -> bool:
    """Take the stashed rows for writing: only one confirm of a token can win."""
    return bool(get_redis().delete(_key(token)))


def forget(token: str) -> None:
    get_redis().delete(_key(token))


# --- the template -------------------------------------------------------------------

def template_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "客户单位"
    ws.append(list(COLUMNS.values()))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F5")
    for cell in ws[1]:
        cell.font, cell.fill = bold, fill
    widths = {"单位名称": 28, "地址": 36, "单位电话": 16, "用户数": 8, "维护状态": 12, "联系人": 10, "科室": 12,
              "联系电话": 16, "邮箱": 26}
    for i, title in enumerate(COLUMNS.values()):
        ws.column_dimensions[chr(ord("A") + i)].width = widths[title]
    ws.freeze_panes = "A2"
    col = chr(ord("A") + list(COLUMNS).index("status"))
    dv = DataValidation(type="list", formula1='"' + ",".join(STATUS_BY_LABEL) + '"', allow_blank=True)
    dv.add(f"{col}2:{col}{MAX_ROWS + 1}")
    ws.add_data_validation(dv)
    for i in ("C", "H"):  # phones as text, so a leading 0 survives
        for row in range(2, 202):
            ws[f"{i}{row}"].number_format = "@"

    notes = wb.create_sheet("说明")
    for line in (
        ["每行一位联系人；同一单位有多位联系人时写多行，单位名称相同。"],
        ["必填列：单位名称、维护状态、联系人、联系电话。列的顺序可以任意调整，但第一行必须是列名。"],
        ["维护状态只能填：已停止维护、普通维护、VIP维护。新单位按此建立；已有单位的维护状态不会被导入修改。"],
        ["电话：手机号（如 13800138000）或带区号的固定电话（如 010-12345678，分机写作 010-12345678-801）。"],
        ["用户数填整数。导入前会先预览，任何一行有问题都不会导入。"],
    ):
        notes.append(line)
    notes.column_dimensions["A"].width = 100
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
