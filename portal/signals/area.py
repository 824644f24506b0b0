"""What the quality signals plug into the kernel (issue 15, 质量信号): a low-scored or unsolved callback and a
month whose satisfaction falls below target reach the managers who answer for service quality — 客服部经理 and
市场部经理. The follow-up of a callback is opened by the ticket workflow (its one obligations place); the
month's figure by this area's sweep (jobs.py)."""
from flask_babel import lazy_gettext as _l

from portal.core.kernel import Area, Kind

AREA = Area(
    key="signals",
    kinds=[
        Kind("quality_follow_up", _l("Low score or not solved: record a follow-up"),
             recipients="cs_manager and market_manager", settled_by="a manager's note on the ticket"),
        Kind("satisfaction_below_target", _l("Monthly satisfaction below target"),
             recipients="cs_manager and market_manager"),
    ],
)
