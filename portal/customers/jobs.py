"""Contract expiry (SPEC §4): maintenance contracts in their expiry window remind 市场部 until renewed,
lapsed ones remind 市场部经理 to set the unit's maintenance status (portal/customers/expiry.py), and the job
asks the archive for each one's 维护到期通知函."""
from __future__ import annotations

from datetime import date

from portal.customers import expiry
from portal.documents.operations import request_expiry_notices
from portal.jobs.runtime import job


def sweep(today: date | None = None) -> dict[str, int]:
    return expiry.sweep(today)


@job
def sweep_contract_expiry() -> dict[str, int]:
    result = sweep()
    # …and the 维护到期通知函 of each such contract, generated once (portal.documents).
    result["expiry_notice"] = request_expiry_notices()
    return result
