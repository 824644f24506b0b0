"""Demo measures of the knowledge base: a month of views of the published articles and the staff's votes, so
the article pages and the dashboard's KB tile show their point. (A consultation answered with an article is
left to be done by hand in the demo: it goes through the workflow, and the demo's open consultations are the
implementation queue's showcase.)"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.auth.models import User
from portal.core.timeutil import today_local
from portal.extensions import db
from portal.kb.models import Article, ArticleState
from portal.kb_work import measures
from portal.kb_work.models import ArticleViewDay

VOTERS = ("cs", "engineer", "dev_manager", "impl_engineer", "impl_manager", "market")


def seed() -> None:
    """Called once by portal.demo.load_demo_data, after portal.kb.demo wrote the articles."""
    today = today_local()
    articles = list(db.session.scalars(select(Article).where(Article.state == ArticleState.PUBLISHED.value)
                                       .order_by(Article.id)))
    voters = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(VOTERS)))}
    for i, article in enumerate(articles):
        for back in range(30):  # a made-up but steady month: some articles read daily, some now and then
            views = (i * 7 + back * 3) % (6 - i % 4)
            if views:
                db.session.add(ArticleViewDay(article_id=article.id, day=today - timedelta(days=back), views=views))
        for k, name in enumerate(VOTERS[: 2 + i % 4]):
            if name in voters:
                measures.vote(article, voters[name], helpful=(i + k) % 5 != 4)
