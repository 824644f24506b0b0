"""portal/models.py imports every model, so Alembic's autogenerate and the app see the whole schema —
the complaints and the metrics pre-aggregate included (checked in a fresh interpreter: in the test
process other imports have long registered them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_portal_models_alone_registers_the_complaint_and_metrics_tables():
    code = ("import portal.models; from portal.extensions import db; "
            "print(' '.join(sorted(db.metadata.tables)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    tables = set(out.stdout.split())
    assert {"complaints", "complaint_events", "metrics_workdays", "metrics_ticket_facts", "metrics_daily",
            "metrics_monthly", "metrics_refresh"} <= tables
