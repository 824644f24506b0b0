"""What the standard replies area plugs into the kernel: its permissions, its menu entry, and the picker
every form with a text box can place beside it (`reply_picker`)."""
from __future__ import annotations

from flask import render_template, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal.core.kernel import Area, NavEntry, Permission, can
from portal.replies.models import ReplyKind

# The ticket action whose text a kind of reply is written for; other actions are offered every kind.
KIND_OF_ACTION = {
    "notify_deadline": ReplyKind.DEADLINE.value,
    "callback": ReplyKind.CALLBACK.value,
    "answer": ReplyKind.CONSULTATION.value,
}


def reply_picker(field_id: str, *, ticket=None, action: str | None = None, kind: str | None = None) -> Markup:
    """The 常用语 button beside the text box `field_id` (nothing for someone who may not use replies)."""
    if not can("replies.use"):
        return Markup("")
    kind = kind or KIND_OF_ACTION.get(action or "")
    params = {"field": field_id}
    if kind:
        params["kind"] = kind
    if ticket is not None and ticket.number:
        params["ticket"] = ticket.number
    return Markup(render_template("replies/_picker_button.html", field_id=field_id,
                                  url=url_for("replies.pick", **params)))


CHANGES = {"create": _l("created"), "edit": _l("edited"), "archive": _l("archived"), "restore": _l("restored")}


def label_reply_kind(value: str) -> str:
    try:
        return str(ReplyKind(value).title)
    except ValueError:
        return value


def change_title(value: str) -> str:
    return str(CHANGES.get(value, value))


AREA = Area(
    key="replies",
    permissions=[
        Permission("replies.use", "use standard replies and keep one's own"),
        Permission("replies.manage_shared", "add, edit and archive the shared standard replies"),
    ],
    nav=[NavEntry("replies.index", _l("Standard replies"), 105)],
    template_globals={"reply_picker": reply_picker, "label_reply_kind": label_reply_kind,
                      "change_title": change_title},
)
