"""Measures of the knowledge base (issue 16, item 6): views, staff votes, consultations answered by an
article, and repeat problems per module — per article (its page) and per period (the dashboard's tile).

Definitions (the tile and the article page use these and nothing else):

- **views**: openings of an article's page (`/kb/<number>`) by anyone, counted per Shanghai day in
  `kb_article_view_days` (an increment of one row per article and day, see models.py).
- **helpful share**: of the votes cast (or changed) in the period, the share saying "helpful"; on the
  article page, of all its current votes. One vote per staff member and article; a changed vote counts
  once, as it stands now, in the period it was last changed in.
- **consultations answered by an article**: consultations whose `answer` named an article
  (`kb_article_answers`, written by the ticket workflow with the answer), in the period they were answered.
- **repeat problems of a module**: tickets registered in the period that are linked to an article of that
  module other than the one ticket the article was written from — the problem was already known when it
  came again (links are made by hand on the article, and by answering a consultation with it). Tickets that
  merely look alike but were never linked are not counted: a similar summary is a guess, a link is a decision.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask import url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from redis.exceptions import RedisError, ResponseError

from portal.core.redis_conn import get_redis
from portal.core.timeutil import today_local, utcnow
from portal.extensions import db
from portal.kb.models import Article, ArticleState, ArticleTicket
from portal.kb_work.models import ArticleAnswer, ArticleViewDay, ArticleVote
from portal.tickets.models import Ticket

log = logging.getLogger(__name__)


def _upsert(model, values: dict, index: list[str], set_: dict):
    """INSERT … ON CONFLICT (index) DO UPDATE SET … on either database."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).values(**values)
    return stmt.on_conflict_do_update(index_elements=index, set_=set_)


VIEWS_KEY = "kb:views:"  # + Shanghai day: a hash article id → openings not yet rolled up into the database
ROLLING_KEY = "kb:views-rolling:"  # + day + ":" + token: a batch being rolled up (left over if a run died)
LOCK_KEY = "kb:views-lock"  # one roll-up at a time
PENDING_TTL = 40 * 86400  # a safety net: counts the roll-up never reached are dropped after 40 days


def count_view(article_id: int, day: date | None = None) -> None:
    """One more opening of the article: an increment in Redis, so that reading a page writes nothing to the
    database (a GET changes no row); `roll_up_views` adds the counts to kb_article_view_days every few
    minutes. Redis unreachable: this opening goes uncounted, the page is shown all the same."""
    key = VIEWS_KEY + (day or today_local()).isoformat()
    try:
        pipe = get_redis().pipeline()
        pipe.hincrby(key, str(article_id), 1)
        pipe.expire(key, PENDING_TTL)
        pipe.execute()
    except RedisError:
        log.info("view of article %s not counted (Redis unreachable)", article_id)


def _day_of(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def roll_up_views() -> int:
    """Add the openings counted in Redis to kb_article_view_days (one increment per article and day) and
    forget them; returns the openings rolled up. Each day's hash is renamed first, so openings counted while
    this runs go to a fresh hash; a batch left over by a run that died before its commit is rolled up by the
    next run (one that died between its commit and the DEL would count its batch twice — views are a
    measure, not money). One run at a time (a Redis lock); a run that finds another busy does nothing."""
    r = get_redis()
    lock = r.lock(LOCK_KEY, timeout=600)
    if not lock.acquire(blocking=False):
        return 0  # another run is at it
    try:
        return _roll_up(r)
    finally:
        lock.release()


def _roll_up(r) -> int:
    for key in r.scan_iter(match=VIEWS_KEY + "*", count=200):
        key = key.decode() if isinstance(key, bytes) else key
        try:
            r.rename(key, f"{ROLLING_KEY}{key[len(VIEWS_KEY):]}:{secrets.token_hex(6)}")
        except ResponseError:  # gone meanwhile (another run took it)
            continue
    total = 0
    for key in r.scan_iter(match=ROLLING_KEY + "*", count=200):
        key = key.decode() if isinstance(key, bytes) else key
        day = _day_of(key[len(ROLLING_KEY):].split(":")[0])
        counts = {int(k): int(v) for k, v in r.hgetall(key).items() if int(v) > 0}
        if day is not None:
            for article_id, views in counts.items():
                if db.session.get(Article, article_id) is None:
                    continue  # an article deleted meanwhile
                db.session.execute(_upsert(ArticleViewDay, dict(article_id=article_id, day=day, views=views),
                                           ["article_id", "day"], {"views": ArticleViewDay.views + views}))
                total += views
        db.session.commit()
        r.delete(key)
    return total


def pending_views(article_id: int | None = None, days: tuple[date, ...] | None = None) -> int:
    """Openings counted but not rolled up yet (today's and yesterday's: the roll-up runs every few minutes),
    of one article or of all."""
    if days is None:
        today = today_local()
        days = (today, date.fromordinal(today.toordinal() - 1))
    try:
        r = get_redis()
        total = 0
        for d in days:
            key = VIEWS_KEY + d.isoformat()
            if article_id is None:
                total += sum(int(v) for v in r.hvals(key))
            else:
                total += int(r.hget(key, str(article_id)) or 0)
        return total
    except RedisError:
        return 0


class VoteError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def vote(article: Article, user, helpful: bool) -> None:
    """The user's vote on a published article: one per user and article, changed in place."""
    if article.state != ArticleState.PUBLISHED.value:
        raise VoteError(_l("Only a published article can be voted on."))
    db.session.execute(_upsert(ArticleVote, dict(article_id=article.id, user_id=user.id, helpful=helpful,
                                                 voted_at=utcnow()),
                               ["article_id", "user_id"], {"helpful": helpful, "voted_at": utcnow()}))


def my_vote(article_id: int, user_id: int) -> bool | None:
    return db.session.scalar(select(ArticleVote.helpful).where(ArticleVote.article_id == article_id,
                                                               ArticleVote.user_id == user_id))


@dataclass
class ArticleMeasures:
    views: int
    views_30d: int
    helpful: int
    not_helpful: int
    answers: int  # consultations answered with it
    repeats: int  # tickets linked to it besides the one it was written from

    @property
    def helpful_share(self) -> float | None:
        votes = self.helpful + self.not_helpful
        return None if not votes else self.helpful / votes


def _not_source(article_alias=Article):
    return or_(article_alias.source_ticket_id.is_(None), article_alias.source_ticket_id != ArticleTicket.ticket_id)


def for_article(article: Article) -> ArticleMeasures:
    """The article page's figures (four small indexed queries)."""
    since = date.fromordinal(today_local().toordinal() - 29)
    views, views_30d = db.session.execute(
        select(func.coalesce(func.sum(ArticleViewDay.views), 0),
               func.coalesce(func.sum(case((ArticleViewDay.day >= since, ArticleViewDay.views), else_=0)), 0))
        .where(ArticleViewDay.article_id == article.id)).one()
    helpful, not_helpful = db.session.execute(
        select(func.coalesce(func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0)), 0),
               func.coalesce(func.sum(case((ArticleVote.helpful.is_(False), 1), else_=0)), 0))
        .where(ArticleVote.article_id == article.id)).one()
    answers = db.session.scalar(select(func.count()).select_from(ArticleAnswer)
                                .where(ArticleAnswer.article_id == article.id))
    repeats = db.session.scalar(
        select(func.count()).select_from(ArticleTicket).join(Article, Article.id == ArticleTicket.article_id)
        .where(ArticleTicket.article_id == article.id, _not_source()))
    pending = pending_views(article.id)
    return ArticleMeasures(int(views) + pending, int(views_30d) + pending, int(helpful), int(not_helpful), int(answers), int(repeats))


@dataclass
class PeriodMeasures:
    published: int  # published articles now (the stock, not the flow)
    views: int
    votes: int
    helpful: int
    answered: int  # consultations answered by an article in the period
    repeats_by_module: list[tuple[str, int]]

    @property
    def helpful_share(self) -> float | None:
        return None if not self.votes else self.helpful / self.votes


def for_period(first_day: date, end_day: date, start_utc: datetime, end_utc: datetime) -> PeriodMeasures:
    """The dashboard's KB tile for a period: days [first_day, end_day) in Shanghai, instants [start, end) UTC."""
    published = db.session.scalar(select(func.count()).select_from(Article)
                                  .where(Article.state == ArticleState.PUBLISHED.value))
    views = db.session.scalar(select(func.coalesce(func.sum(ArticleViewDay.views), 0))
                              .where(ArticleViewDay.day >= first_day, ArticleViewDay.day < end_day))
    today = today_local()
    views += pending_views(days=tuple(d for d in (today, date.fromordinal(today.toordinal() - 1))
                                      if first_day <= d < end_day))
    votes, helpful = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0)), 0))
        .where(ArticleVote.voted_at >= start_utc, ArticleVote.voted_at < end_utc)).one()
    answered = db.session.scalar(select(func.count(func.distinct(ArticleAnswer.ticket_id)))
                                 .where(ArticleAnswer.answered_at >= start_utc, ArticleAnswer.answered_at < end_utc))
    repeats = db.session.execute(
        select(Article.module, func.count(func.distinct(ArticleTicket.ticket_id)))
        .select_from(ArticleTicket)
        .join(Article, Article.id == ArticleTicket.article_id)
        .join(Ticket, Ticket.id == ArticleTicket.ticket_id)
        .where(_not_source(), and_(Ticket.created_at >= start_utc, Ticket.created_at < end_utc))
        .group_by(Article.module)
        .order_by(func.count(func.distinct(ArticleTicket.ticket_id)).desc(), Article.module)
    ).all()
    return PeriodMeasures(int(published), int(views), int(votes), int(helpful),
                          int(answered), [(m or "", int(n)) for m, n in repeats])


def tile(first_day: date, end_day: date, start_utc: datetime, end_utc: datetime, *, narrowed: bool) -> dict:
    """The dashboard's KB tile (portal/metrics/dashboard.py makes it a Tile): published articles, and the
    period's views, helpful share and consultations answered by an article; the modules with the most repeat
    problems. `narrowed`: the dashboard is filtered (department, engineer, unit, level) — the knowledge base
    belongs to the whole company, so the tile says its figures are not filtered."""
    m = for_period(first_day, end_day, start_utc, end_utc)
    share = "—" if m.helpful_share is None else format_percent(m.helpful_share, "#,##0.0%")
    detail = [
        (_("views %(n)s", n=format_decimal(m.views)), None),
        (_("helpful %(share)s of %(n)s votes", share=share, n=format_decimal(m.votes)), None),
        (_("consultations answered by an article %(n)s", n=format_decimal(m.answered)), None),
    ]
    if m.repeats_by_module:
        top = "、".join(f"{module or _('(no module)')} {n}" for module, n in m.repeats_by_module[:3])
        detail.append((_("repeat problems: %(modules)s", modules=top), None))
    return dict(key="kb", title=_("Knowledge base"), value=format_decimal(m.published), link=url_for("kb.index"),
                detail=detail,
                note=_("Published articles now; the rest in this period, for the whole company.") if narrowed
                else _("Published articles now; the rest in this period."))
