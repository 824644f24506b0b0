"""PNG renders of every kind of document, kept in test-artifacts/documents/ to be looked at (the fax
form laid out like the source's form, Chinese rendered, nothing cut off). Each page must fit: no
text may run past the page's right edge, which pdftotext's bounding boxes show."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

from portal.core.timeutil import from_local
from portal.documents import operations as ops
from portal.documents.models import Document
from portal.extensions import db
from tests.conftest import ROOT, require_or_skip
from tests.documents.helpers import document, pdf_bytes, run_burst_worker, set_columns

ARTEFACTS = ROOT / "test-artifacts" / "documents"
A4_WIDTH_PT = 595.3
RIGHT_MARGIN_PT = 20 / 25.4 * 72  # the templates' 20 mm


def words_beyond_margin(pdf: Path) -> list[str]:
    """Words whose box ends to the right of the text area (pdftotext -bbox)."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    limit = A4_WIDTH_PT - RIGHT_MARGIN_PT + 1
    return [m.group(2) for m in re.finditer(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', out)
            if float(m.group(1)) > limit]


def test_png_renders_of_each_document_are_kept_for_review(users, letterhead, vip_unit, quarter_of_work):
    require_or_skip(shutil.which("pdftoppm") is not None and shutil.which("pdftotext") is not None,
                    "poppler-utils (pdftoppm, pdftotext) not installed")
    contract = vip_unit.contracts[0]
    docs = {
        "expiry-notice": ops.request_expiry_notice(contract, users["market"], contact=vip_unit.contacts[0],
                                                   fax="0571-87654321"),
        "service-notice-contact": ops.request_contact_letter(vip_unit.contacts[1], users["cs"]),
        "service-notice-contract": ops.request_contract_letter(contract, users["market"]),
        "summary-quarter": ops.request_summary(vip_unit, quarter_of_work.key, users["cs"]),
    }
    db.session.commit()
    for key in ("expiry-notice", "service-notice-contact", "service-notice-contract"):
        # a date inside the contract, so that the fax counts months left
        set_columns(Document, docs[key].id, created_at=from_local(datetime(2026, 4, 20, 9, 30)))
    run_burst_worker()

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for name, d in docs.items():
        d = document(d.id)
        assert d.status == "ready", d.error
        pdf = ARTEFACTS / f"{name}.pdf"
        pdf.write_bytes(pdf_bytes(d))
        for old in ARTEFACTS.glob(f"{name}-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(ARTEFACTS / name)], check=True)
        pngs = sorted(ARTEFACTS.glob(f"{name}-*.png"))
        assert len(pngs) == d.pages, name
        assert words_beyond_margin(pdf) == [], name
    assert document(docs["expiry-notice"].id).pages == 1  # the fax form fits one page, as on paper
    assert Path(ARTEFACTS / "expiry-notice-1.png").stat().st_size > 10_000
