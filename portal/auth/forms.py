from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from portal.auth.operations import MAX_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(_l("Enter your user name.")), Length(max=64)])
    # An absurdly long password is refused here, before any hashing: the same answer whether or not
    # the user exists, and no argon2 work for the attacker to buy with a large body.
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")),
        Length(max=MAX_PASSWORD_LENGTH,
               message=_l("The password is too long (at most %(n)d characters).", n=MAX_PASSWORD_LENGTH)),
    ])


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[("zh_CN", "简体中文"), ("en", "English")])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=256)])
