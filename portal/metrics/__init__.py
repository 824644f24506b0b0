"""服务指标: the service metrics dashboard (SPEC §6), its per-day pre-aggregate and the exports."""
from flask_babel import lazy_gettext as _l

NAV_TITLE = _l("Service metrics")
