"""The vote on an article (the only form of its own here; the consultation's answer form is the workflow's)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.validators import InputRequired


class VoteForm(FlaskForm):
    helpful = RadioField(_l("Was this article helpful?"), choices=[("yes", _l("Helpful")), ("no", _l("Not helpful"))],
                         validators=[InputRequired(_l("Choose helpful or not helpful."))])
