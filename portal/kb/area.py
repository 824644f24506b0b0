"""What the knowledge base plugs into the kernel."""
from flask import url_for
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind, NavEntry, Permission

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
)
