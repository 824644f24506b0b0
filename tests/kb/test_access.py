"""Role × URL for one draft, one published and one archived article (the /kb rows of tests/test_access_matrix.py
need no data): a draft or archived article exists only for its owner and the reviewers; only the reviewers
review; the review buttons are shown to exactly those who may use them."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.kb import operations as ops

ALL = ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin"]
REVIEWERS = {"dev_manager", "impl_manager"}
WRITERS = REVIEWERS | {"engineer", "impl_engineer"}


@pytest.fixture
def articles(users, article_factory):
    out = {"published": article_factory("已发布"), "draft": article_factory("工程师的草稿", publish=False),
           "archived": article_factory("已归档")}
    ops.archive(out["archived"], users["dev_manager"])
    db.session.commit()
    return out


def expected(role: str, state: str, page: str) -> int:
    """The answer the SPEC's roles should get (`engineer` owns every article here)."""
    if page == "edit" and role not in WRITERS:
        return 403  # the page itself is for writers
    sees = state == "published" or role in REVIEWERS or role == "engineer"
    if not sees:
        return 404
    if page == "edit":
        may = state != "archived" and (role in REVIEWERS or (role == "engineer" and state == "draft"))
        return 200 if may else 403
    return 200


@pytest.mark.parametrize("role", ALL)
def test_article_pages_by_role_and_state(auth, articles, role):
    c = auth.client_for(role)
    for state, a in articles.items():
        for page, url in (("show", f"/kb/{a.number}"), ("revisions", f"/kb/{a.number}/revisions"),
                          ("revision", f"/kb/{a.number}/revisions/1"), ("diff", f"/kb/{a.number}/diff?a=1&b=1"),
                          ("edit", f"/kb/{a.number}/edit")):
            for htmx in (False, True):
                r = c.get(url, headers={"HX-Request": "true"} if htmx else {})
                assert r.status_code == expected(role, state, page), (role, state, page, htmx, r.status_code)


@pytest.mark.parametrize("role", ALL)
def test_the_review_buttons_are_shown_to_the_reviewers_only(auth, articles, role):
    page = auth.client_for(role).get(f"/kb/{articles['published'].number}").get_data(as_text=True)
    assert ("/send-back" in page) == (role in REVIEWERS)
    assert (f"/kb/{articles['published'].number}/edit" in page) == (role in REVIEWERS)


def test_a_number_that_is_no_article_is_404(auth):
    c = auth.client_for("dev_manager")
    for n in ("KB-99999", "kb-x", "SH-2026-000001", "KB-" + "9" * 40, "%00"):
        assert c.get(f"/kb/{n}").status_code == 404
