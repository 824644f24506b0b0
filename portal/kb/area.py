"""What the knowledge base plugs into the kernel."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.core.kernel import Area, Kind, NavEntry, Permission
from portal.kb import operations as ops
from portal.kb.models import ArticleState, Visibility

STEPS = {"create": _l("Written"), "edit": _l("Edited"), "publish": _l("Published (reviewed)"),
         "review": _l("Re-confirmed by the reviewer"), "send_back": _l("Sent back"), "archive": _l("Archived"),
         "restore": _l("Restored as a draft")}


def _title(enum):
    def title(value: str) -> str:
        try:
            return str(enum(value).title)
        except ValueError:
            return value
    return title


def articles_for(ticket):
    """The ticket page's "knowledge articles" box: the articles linked to the ticket that the user may see."""
    return ops.articles_for_ticket(ticket, current_user)


def may_write_from(ticket) -> bool:
    """Offer "write an article from this ticket" on the ticket page."""
    return ops.may_write(current_user) and ops.may_write_from(ticket)

AREA = Area(
    key="kb",
    permissions=[
        Permission("kb.view", "read and search published knowledge articles"),
        Permission("kb.write", "write articles (drafts), also from a solved ticket; edit one's own drafts"),
        Permission("kb.publish", "review: publish, send back with a comment, archive; edit any article"),
    ],
    nav=[NavEntry("kb.index", _l("Knowledge base"), 65)],
    kinds=[
        Kind("kb_stale", _l("Knowledge article due for review"), recipients="the article's owner",
             settled_by="a reviewer publishing (re-confirming) the article, or archiving it",
             cadence="kb_review_days", link=lambda r: url_for("kb.index", view="stale")),
    ],
    template_globals={"kb_state_title": _title(ArticleState), "kb_visibility_title": _title(Visibility),
                      "kb_step_title": lambda action: str(STEPS.get(action, action)),
                      "kb_articles_for": articles_for, "kb_may_write_from": may_write_from},
)
