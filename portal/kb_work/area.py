"""What the knowledge base at work plugs into the kernel: who is offered suggestions where, and the template
helpers that show an article's measures on its page (portal/kb's template includes kb_work/_measures.html)."""
from urllib.parse import quote

from flask_login import current_user

from portal.core.kernel import Area, Permission
from portal.kb_work import measures


def article_url(number: str) -> str:
    """An article's page, /kb/<number> (portal/kb's page; the number is KB- and digits)."""
    return "/kb/" + quote(number or "", safe="")


def count_view(article) -> None:
    """An article's page was opened: a published article's view is counted (drafts are read by their writers
    and reviewers, not by the people the measure is about)."""
    if article.state == "published":
        measures.count_view(article.id)


def my_vote(article) -> bool | None:
    return measures.my_vote(article.id, current_user.id) if current_user.is_authenticated else None


AREA = Area(
    key="kb_work",
    permissions=[
        Permission("kb_work.suggest", "see articles suggested while registering a problem or a hotline call"),
        Permission("kb_work.related", "see the articles related to a ticket, and answer a consultation with one"),
    ],
    listeners={"kb_article_viewed": count_view},
    template_globals={"kb_measures": measures.for_article, "kb_my_vote": my_vote, "kb_article_url": article_url},
)
