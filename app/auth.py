"""Who is using the server, and what they may do.

With ``auth.users_file`` set, the server asks for a login (Panel's basic-auth flow, with
the hashed passwords and roles of :mod:`data_access.users` and a login page served by
the workbench itself, no CDN). Without it the server is a single-user tool on this
machine: it refuses to listen beyond loopback, and its one user, ``local``, holds every
role. Every action that changes something checks the role on the server side
(:func:`require`), not only by hiding buttons.
"""

from __future__ import annotations

from pathlib import Path

import panel as pn
from panel.auth import BasicAuthProvider, BasicLoginHandler

from data_access.users import User, UsersFile

#: The one user of a server without a users file (loopback only).
LOCAL_USER = User("local", ("approver",))

LOGIN_TEMPLATE = Path(__file__).with_name("templates") / "login.html"


class WorkbenchLoginHandler(BasicLoginHandler):
    """Panel's login handler, checking the users file's hashed passwords."""

    users: UsersFile

    def _validate(self, username: str, password: str) -> bool:
        return self.users.authenticate(username, password) is not None


class WorkbenchAuthProvider(BasicAuthProvider):
    """Basic auth over a users file, with the workbench's own login page."""

    def __init__(self, users: UsersFile) -> None:
        # before the base class, whose constructor already asks for the login handler
        self._handler = type("BoundLoginHandler", (WorkbenchLoginHandler,), {"users": users})
        super().__init__(login_template=str(LOGIN_TEMPLATE))

    @property
    def login_handler(self):
        self._handler._login_endpoint = self._login_endpoint
        self._handler._login_template = self._login_template
        return self._handler


class PermissionDenied(PermissionError):
    """The user lacks the role an action needs; the message says which."""


def current_user(users: UsersFile | None) -> User:
    """The logged-in user of this session (``local`` without a users file)."""
    if users is None:
        return LOCAL_USER
    name = pn.state.user or ""
    return users.user(name) or User(name or "anonymous", ())


def require(user: User, role: str, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` holds ``role`` (or a role above it)."""
    if not user.can(role):
        raise PermissionDenied(f"{user.name} may not {action}: it needs the {role} role")
