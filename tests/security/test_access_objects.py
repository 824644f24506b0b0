"""Access (issue 8): fetching an object the role may not see answers exactly like fetching one that
does not exist — same status, same body — as a full page and as an htmx request; tickets,
attachments and archive documents answer 404. Attachment and document URLs cannot be guessed.

Extends tests/test_access_matrix.py (pages by role, ticket pages, masking) to every kind of object.
"""
from __future__ import annotations

import re
import secrets

import pytest

from tests.security.world import ALL_ROLES, ARCHIVE_ROLES, FULL_VIEW, build_world, may_see

MISSING_TICKET = "SH-2099-999999"
MISSING_ID = 999999
MISSING_DOCUMENT = "0123456789abcdef0123456789abcdef"  # well-formed, belongs to no document
CUSTOMER_ROLES = {"cs", "dev_manager", "impl_manager", "market", "market_manager", "admin"}
COMPLAINT_ROLES = {"cs", "dev_manager", "impl_manager", "market", "market_manager", "admin"}
HANDOVER_ROLES = {"cs", "market", "market_manager", "admin"}


@pytest.fixture
def world(users, ticket_factory, unit_factory):
    return build_world(users, ticket_factory, unit_factory)


def _cases(w):
    """(what, url of a real object, url of a missing one of the same kind, roles that may see it, must be 404)"""
    out = []
    for key, t in w.tickets.items():
        roles = {r for r in ALL_ROLES if may_see(r, key)}
        out.append((f"ticket {key}", f"/tickets/{t.number}", f"/tickets/{MISSING_TICKET}", roles, True))
    for key, att in w.attachments.items():
        t = w.tickets[key]
        # an attachment of a ticket seen only for reference (masked) is not shown either
        roles = {r for r in ALL_ROLES if may_see(r, key) and (r in FULL_VIEW or key != "closed_others")}
        real = f"/tickets/{t.number}/attachments/{att.id}"
        out.append((f"attachment {key}", real, f"/tickets/{t.number}/attachments/{secrets.token_hex(16)}", roles, True))
        out.append((f"thumbnail {key}", real + "?thumb=1",
                    f"/tickets/{MISSING_TICKET}/attachments/{att.id}?thumb=1", roles, True))
    # an attachment asked for through another (visible) ticket's address
    mine, others = w.tickets["mine"], w.attachments["others"]
    out.append(("attachment via another ticket", f"/tickets/{mine.number}/attachments/{others.id}",
                f"/tickets/{mine.number}/attachments/{secrets.token_hex(16)}", set(), True))
    doc = w.documents["a"]
    for suffix in ("", "/status", "/download", "?part=revisions"):
        path = suffix if suffix.startswith("/") else ""
        query = suffix if suffix.startswith("?") else ""
        out.append((f"document{suffix}", f"/documents/{doc.public_id}{path}{query}",
                    f"/documents/{MISSING_DOCUMENT}{path}{query}", ARCHIVE_ROLES, True))
    for key, c in w.complaints.items():
        out.append((f"complaint {key}", f"/complaints/{c.id}", f"/complaints/{MISSING_ID}", COMPLAINT_ROLES, False))
    out.append(("hotline record", f"/hotline/{w.hotline.id}", f"/hotline/{MISSING_ID}", {"cs"}, False))
    a, b = w.units["a"], w.units["b"]
    out.append(("customer unit", f"/customers/{a.id}", f"/customers/{MISSING_ID}", CUSTOMER_ROLES, False))
    out.append(("unit history export", f"/metrics/units/{a.id}/history.csv",
                f"/metrics/units/{MISSING_ID}/history.csv", CUSTOMER_ROLES, False))
    out.append(("handover", f"/handover/units/{w.units['project'].id}", f"/handover/units/{MISSING_ID}",
                HANDOVER_ROLES, False))
    # a contact or contract asked for through another unit's address
    out.append(("contact of another unit", f"/customers/{a.id}/contacts/{w.contacts['b'].id}/edit",
                f"/customers/{a.id}/contacts/{MISSING_ID}/edit", set(), False))
    out.append(("contract of another unit", f"/customers/{a.id}/contracts/{w.contracts['b'].id}/renew",
                f"/customers/{a.id}/contracts/{MISSING_ID}/renew", set(), False))
    out.append(("expiry notice form", f"/documents/contracts/{w.contracts['a'].id}/expiry-notice",
                f"/documents/contracts/{MISSING_ID}/expiry-notice", ARCHIVE_ROLES, True))
    return out


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize("role", ALL_ROLES)
def test_an_object_the_role_may_not_see_answers_exactly_like_a_missing_one(auth, world, role, htmx):
    c = auth.client_for(role)
    headers = {"HX-Request": "true"} if htmx else {}
    checked = 0
    for what, real, missing, roles, must_be_404 in _cases(world):
        got = c.get(real, headers=headers)
        if role in roles:
            assert got.status_code in (200, 286), (role, what, got.status_code)  # 286: a settled status poll
            continue
        gone = c.get(missing, headers=headers)
        assert got.status_code == gone.status_code, (role, what, got.status_code, gone.status_code)
        assert got.status_code in ((404,) if must_be_404 else (403, 404)), (role, what, got.status_code)
        assert got.get_data() == gone.get_data(), (role, what)
        checked += 1
    assert checked > 0 or role in ("admin",), role  # every role but admin is refused something


def test_attachment_urls_carry_a_random_id_not_a_counter(auth, world):
    ids = [a.id for a in world.attachments.values()]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids  # 128 random bits each
    assert len(set(ids)) == len(ids)
    page = auth.client_for("cs").get(f"/tickets/{world.tickets['others'].number}").get_data(as_text=True)
    linked = re.findall(r"/attachments/([^\"?&/]+)", page)
    assert linked and set(linked) == {world.attachments["others"].id}


def test_document_urls_carry_a_random_id_not_a_counter(auth, world):
    page = auth.client_for("cs").get(f"/customers/{world.units['a'].id}").get_data(as_text=True)
    linked = re.findall(r"/documents/([^\"?&/#]+)", page)
    linked = [x for x in linked if x not in ("units", "contracts", "settings")]
    assert linked and all(re.fullmatch(r"[0-9a-f]{32}", x) for x in linked), linked
