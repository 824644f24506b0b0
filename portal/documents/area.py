"""What the archive (documents) plugs into the kernel."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, NavEntry, Permission
from portal.documents.operations import request_contract_letter

AREA = Area(
    key="documents",
    permissions=[
        Permission("archive.view", "the archive: letters, summaries, uploaded documents (others: it does not exist)"),
        Permission("archive.settings", "the letterhead printed on letters"),
    ],
    nav=[NavEntry("documents.index", _l("Archive"), 90)],
    listeners={"contract_renewed": lambda contract, actor: request_contract_letter(contract, actor)},
)
