"""What sign-in plugs into the kernel: how a request's user is loaded."""
from portal.auth.operations import user_for_session
from portal.core.kernel import Area


def _init_app(app) -> None:
    login_manager = app.login_manager

    @login_manager.user_loader
    def load_user(session_key: str):
        """The cookie holds a login-session key (portal.auth.operations.start_session): user and live
        session are read in one query, so a session ended by logout, a password change, a deactivation
        or a role change is refused at once, whatever copy of the cookie comes back."""
        return user_for_session(session_key)


AREA = Area(key="auth", init_app=_init_app)
