"""The demo's knowledge base: about ten realistic articles, published, one draft sent back, one stale; most
written from the demo's solved tickets and linked to them; found by search."""
from __future__ import annotations

from sqlalchemy import func, select

from portal.auth.models import User
from portal.demo import DEMO_PASSWORD, load_demo_data
from portal.extensions import db
from portal.kb import operations as ops
from portal.kb.models import Article, ArticleTicket
from portal.kb.search import search, suggest
from portal.notifications.models import Reminder


def _client(app, username):
    c = app.test_client()
    assert c.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
    return c


def test_the_demo_knowledge_base_shows_its_points(app):
    assert load_demo_data() is True
    db.session.commit()
    articles = list(db.session.scalars(select(Article)))
    states = [a.state for a in articles]
    assert len(articles) >= 10 and states.count("draft") == 1 and states.count("published") == len(articles) - 1
    assert sum(ops.is_stale(a) for a in articles) == 1
    assert db.session.scalar(select(func.count()).select_from(ArticleTicket)) >= 5
    assert db.session.scalar(select(func.count()).select_from(Reminder).where(Reminder.kind == "kb_stale")) == 1
    cs = db.session.scalar(select(User).where(User.username == "cs"))
    assert search("打印机无法打印", user=cs)[0].title.startswith("打印月报")
    assert suggest("门诊医保结算老是超时", user=cs)[0].title == "医保结算接口调用超时"
    page = _client(app, "cs").get("/kb?q=打印机").get_data(as_text=True)
    assert "月报时提示" in page and "<mark>打印机</mark>" in page
    assert "未复审" in _client(app, "engineer").get("/kb").get_data(as_text=True)
