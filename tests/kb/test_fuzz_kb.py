"""The knowledge base's routes under hostile input with REAL article numbers in the path (the whole-app fuzz,
tests/security/test_fuzz_routes.py, walks them too, but with ticket numbers, which stop at the 404): never a
5xx or a traceback, nothing written by a GET or by a refused POST. Same machinery and values as that test."""
from __future__ import annotations

from portal.extensions import db, limiter
from portal.kb import operations as ops
from tests.security.test_fuzz_routes import HOSTILE, KILLERS, Run, name_pools, routes_of, send

ROLES = ["cs", "dev_manager", "engineer", "impl_manager", "impl_engineer", "market", "market_manager", "admin"]


def test_kb_routes_survive_hostile_input_with_real_articles(app, auth, users, article_factory, solved_ticket):
    published = article_factory("已发布的文章", tags="打印机")
    draft = article_factory("草稿", publish=False)
    ops.link_ticket(published, solved_ticket, users["engineer"])
    db.session.commit()
    arg_names, form_names, _ = name_pools(app)
    routes = [r for r in routes_of(app) if r.endpoint.startswith("kb.")]
    assert len(routes) >= 13
    run = Run()
    limiter.enabled = False
    try:
        for n, route in enumerate(routes):
            for number in (published.number, draft.number):
                params = {"number": number, "no": "1", "att_id": "0" * 32}
                params = {p: params[p] for p in route.params}
                names = arg_names[route.endpoint] if route.method == "GET" else form_names[route.endpoint]
                for k, role in enumerate(ROLES):
                    send(run, auth.client_for, route, role, params,
                         [(name, HOSTILE[(n + k + i) % len(HOSTILE)]) for i, name in enumerate(names)])
                for j, value in enumerate(KILLERS):
                    send(run, auth.client_for, route, ROLES[(n + j) % len(ROLES)], params,
                         [(name, value) for name in names])
                if route.method != "GET":
                    db.session.rollback()
    finally:
        limiter.enabled = True
    assert run.requests > 300
    assert not run.failures, "\n".join(sorted(set(run.failures))[:40])
