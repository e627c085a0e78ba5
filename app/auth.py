"""Who is using the server, and what they may do.

With ``auth.users_file`` set, the server asks for a login: passwords (Panel's basic-auth
flow, with the hashed passwords and roles of :mod:`data_access.users` and a login page
served by the workbench itself, no CDN), or an OAuth/OIDC provider of Panel's when
``auth.oauth_provider`` is set, the users file then giving only the roles. Without a
users file the server is a single-user tool on this machine: it refuses to listen beyond
loopback, and its one user, ``local``, holds every role. Every action that changes
something checks the role on the server side (:func:`require`), not only by hiding
buttons.

A login opens a server-side session (:mod:`data_access.sessions`) whose random id the
browser holds in the signed cookie ``gic_session``, beside Panel's signed ``user``
cookie. Every request, page or websocket, needs both, naming the same user, with a session
that is open, unexpired and opened under the user's current entry in the users file:
logging out, removing a user or changing their roles or password ends their sessions.

The password form carries a CSRF token bound to a cookie (Tornado's ``_xsrf``), hashes
off the event loop, costs the same whether the user exists or not, and is locked per user
and per address after ``auth.login_max_failures`` failures (:class:`LoginLimiter`); each
failure and each lockout is logged on ``gic.auth`` with the user and the address.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jinja2
import panel as pn
from panel.auth import (
    AUTH_PROVIDERS,
    BasicAuthProvider,
    BasicLoginHandler,
    LogoutHandler,
    OAuthProvider,
    _validate_next_url,
)
from panel.config import config as panel_config
from panel.io.state import state as panel_state
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler

from data_access.sessions import SessionStore
from data_access.stores import Stores
from data_access.users import User, UsersFile

log = logging.getLogger("gic.auth")

#: The one user of a server without a users file (loopback only).
LOCAL_USER = User("local", ("approver",))

#: The signed cookie holding the id of the browser's login session.
SESSION_COOKIE = "gic_session"

#: The login page's templates; every value is escaped unless marked safe.
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True
)

#: Password hashing (PBKDF2, ~0.3 s each) runs here, never on the server's event loop;
#: two threads at most, so that a burst of logins cannot take every core.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gic-login")

INVALID = "Invalid username or password"
LOCKED = "Too many failed logins: this user or address is locked for {minutes:.0f} min"


class LoginLimiter:
    """Failed logins counted per user and per address; ``max_failures`` of either within
    ``window_s`` lock it for ``lockout_s``, during which its logins are refused even with
    the right password.

    Parameters
    ----------
    max_failures : int
        Failures that lock a user or an address; 0 never locks.
    window_s, lockout_s : float
        Seconds over which failures are counted, and a lock lasts.
    clock : callable, optional
        Monotonic seconds (``time.monotonic``); tests pass their own.
    """

    #: Above this many remembered keys, those without a recent failure are forgotten.
    _PRUNE_ABOVE = 10_000

    def __init__(
        self, *, max_failures: int, window_s: float, lockout_s: float, clock=time.monotonic
    ) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._locked_until: dict[tuple[str, str], float] = {}

    @classmethod
    def from_config(cls, auth) -> LoginLimiter:
        """The limiter of an :class:`~data_access.config.AuthConfig`."""
        return cls(
            max_failures=auth.login_max_failures,
            window_s=auth.login_window_min * 60,
            lockout_s=auth.login_lockout_min * 60,
        )

    @staticmethod
    def _keys(user: str, address: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("user", user), ("address", address)

    def locked_for(self, user: str, address: str) -> float:
        """Seconds until a login of ``user`` from ``address`` may be tried again (0 now)."""
        now = self.clock()
        return max(self._locked_until.get(key, now) - now for key in self._keys(user, address))

    def refuses(self, user: str, address: str) -> bool:
        """True (and logged) if ``user`` or ``address`` is locked."""
        if self.locked_for(user, address) <= 0:
            return False
        log.warning("login refused while locked: user %r from %s", user[:100], address)
        return True

    def failed(self, user: str, address: str) -> None:
        """Count a failed login of ``user`` from ``address``, lock either at the limit, and
        log both."""
        log.warning("login failed: user %r from %s", user[:100], address)
        now = self.clock()
        if len(self._failures) > self._PRUNE_ABOVE:
            self._prune(now)
        for key in self._keys(user, address):
            times = self._failures[key]
            times.append(now)
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if self.max_failures and len(times) >= self.max_failures:
                self._locked_until[key] = now + self.lockout_s
                times.clear()
                log.warning(
                    "login locked for %.0f min: %s %r after %d failures in %.0f min "
                    "(last: user %r from %s)",
                    self.lockout_s / 60,
                    key[0],
                    key[1][:100],
                    self.max_failures,
                    self.window_s / 60,
                    user[:100],
                    address,
                )

    def succeeded(self, user: str) -> None:
        """Forget the failures of ``user`` (not of the address: one good account must not
        clear an address that is guessing others)."""
        self._failures.pop(("user", user), None)

    def _prune(self, now: float) -> None:
        for key in [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window_s]:
            del self._failures[key]
        for key in [k for k, until in self._locked_until.items() if until <= now]:
            del self._locked_until[key]


def _open_session(handler: RequestHandler, provider: _SessionAuth, name: str) -> None:
    """Open a server-side session for ``name`` and give its id to the browser, signed."""
    generation = provider.users.generation(name) or ""
    session_id = provider.sessions.open(name, generation, days=provider.session_days)
    handler.set_secure_cookie(
        SESSION_COOKIE,
        session_id,
        expires_days=provider.session_days,
        httponly=True,
        path=panel_config.cookie_path,
    )


class WorkbenchLoginHandler(BasicLoginHandler):
    """The password login: the workbench's page with a CSRF token, hashing in a thread,
    the same work for unknown users, a lockout, and a server-side session."""

    provider: WorkbenchAuthProvider

    def get(self) -> None:
        next_url = _validate_next_url(self.get_argument("next", panel_state.base_url))
        if next_url:
            self.set_cookie("next_url", next_url, httponly=True)
        self._page(self.get_argument("error", ""))

    def _page(self, message: str, status: int = 200) -> None:
        """The login form, with ``message`` (escaped) and a fresh CSRF token."""
        self.set_status(status)
        self.write(
            self._login_template.render(
                login_endpoint=self._login_endpoint,
                errormessage=message[:200],
                xsrf_token=self.xsrf_token.decode(),
            )
        )

    async def post(self) -> None:
        self.check_xsrf_cookie()  # raises 403 without the form's token matching its cookie
        name = self.get_argument("username", "")
        password = self.get_argument("password", "")
        address = self.request.remote_ip or "unknown"
        limiter = self.provider.limiter
        if limiter.refuses(name, address):
            return self._page(LOCKED.format(minutes=limiter.lockout_s / 60), 429)
        user = await IOLoop.current().run_in_executor(
            _HASHING, self.provider.users.authenticate, name, password
        )
        if user is None:
            limiter.failed(name, address)
            return self._page(INVALID, 401)
        if limiter.refuses(name, address):  # locked by other attempts while this one hashed
            return self._page(LOCKED.format(minutes=limiter.lockout_s / 60), 429)
        limiter.succeeded(name)
        _open_session(self, self.provider, name)
        self.set_current_user(name)
        self.redirect(_validate_next_url(self.get_cookie("next_url", panel_state.base_url)))


class WorkbenchLogoutHandler(LogoutHandler):
    """Panel's logout, which also ends the session on the server side."""

    provider: _SessionAuth

    def get(self) -> None:
        session_id = self.get_secure_cookie(SESSION_COOKIE)
        if session_id:
            self.provider.sessions.end(session_id.decode())
        self.clear_cookie(SESSION_COOKIE, path=panel_config.cookie_path)
        super().get()


class _SessionAuth:
    """What both logins share: the users file, the sessions, and the check of both on
    every request (mixed into Panel's providers)."""

    users: UsersFile
    sessions: SessionStore
    session_days: float

    def _bind(self, handler: type, **attributes) -> type:
        """A subclass of ``handler`` that knows this provider."""
        return type(f"Bound{handler.__name__}", (handler,), {"provider": self, **attributes})

    def session_user(self, handler: RequestHandler) -> str | None:
        """The user of the request's session, None without an open and current one."""
        session_id = handler.get_secure_cookie(SESSION_COOKIE, max_age_days=self.session_days)
        return None if not session_id else self.sessions.check(session_id.decode(), self.users)

    def _checked(self, handler: RequestHandler, user: str | None) -> str | None:
        """``user`` (Panel's signed cookie) if the session names the same user, else None."""
        return user if user is not None and user == self.session_user(handler) else None

    @property
    def logout_handler(self):
        return self._logout


class WorkbenchAuthProvider(_SessionAuth, BasicAuthProvider):
    """Basic auth over a users file, with the workbench's own login page and sessions."""

    def __init__(
        self,
        users: UsersFile,
        sessions: SessionStore,
        limiter: LoginLimiter,
        *,
        session_days: float,
    ) -> None:
        self.users, self.sessions, self.limiter = users, sessions, limiter
        self.session_days = session_days
        # before the base class, whose constructor already asks for the handlers
        self._handler = self._bind(
            WorkbenchLoginHandler, _login_template=_TEMPLATES.get_template("login.html")
        )
        self._logout = self._bind(WorkbenchLogoutHandler)
        super().__init__()

    @classmethod
    def from_stores(cls, stores: Stores) -> WorkbenchAuthProvider:
        """The provider of a workspace with a users file."""
        auth = stores.workspace.config.auth
        return cls(
            stores.users,
            SessionStore.for_workspace(stores.workspace),
            LoginLimiter.from_config(auth),
            session_days=auth.session_days,
        )

    @property
    def get_user(self):
        panel_user = super().get_user
        return lambda handler: self._checked(handler, panel_user(handler))

    @property
    def login_handler(self):
        self._handler._login_endpoint = self._login_endpoint
        return self._handler


#: The cookies Panel sets at an OAuth login.
_OAUTH_COOKIES = ("user", "id_token", "access_token", "refresh_token", "oauth_expiry")


def _oauth_handler(base: type) -> type:
    """Panel's login handler of one OAuth provider, which also refuses a user absent from
    the users file and opens a session for the others."""

    class WorkbenchOAuthLoginHandler(base):
        provider: _SessionAuth

        async def get_authenticated_user(
            self, redirect_uri, client_id, state, client_secret=None, code=None
        ):
            user = await super().get_authenticated_user(
                redirect_uri, client_id, state, client_secret=client_secret, code=code
            )
            if code is None or user is None:  # the first leg: sent to the provider
                return user
            if self.provider.users.user(user) is None:
                log.warning(
                    "OAuth login refused: user %r from %s is not in the users file",
                    str(user)[:100],
                    self.request.remote_ip,
                )
                for cookie in _OAUTH_COOKIES:  # just set by Panel: taken back
                    self.clear_cookie(cookie, path=panel_config.cookie_path)
                raise HTTPError(
                    403,
                    "This account has no role on the workbench: ask for one "
                    "to be added to its users file.",
                    reason="No role",
                )
            _open_session(self, self.provider, user)
            return user

    return WorkbenchOAuthLoginHandler


class WorkbenchOAuthProvider(_SessionAuth, OAuthProvider):
    """Login through one of Panel's OAuth providers (``generic``, ``github``...), roles from
    the users file, with the workbench's sessions."""

    def __init__(
        self, provider: str, users: UsersFile, sessions: SessionStore, *, session_days: float
    ) -> None:
        if provider not in AUTH_PROVIDERS:
            raise ValueError(
                f"unknown OAuth provider {provider!r}: one of {', '.join(sorted(AUTH_PROVIDERS))}"
            )
        self.provider_name = provider
        self.users, self.sessions, self.session_days = users, sessions, session_days
        self._handler = self._bind(_oauth_handler(AUTH_PROVIDERS[provider]))
        self._logout = self._bind(WorkbenchLogoutHandler)
        super().__init__()

    @classmethod
    def from_stores(cls, stores: Stores) -> WorkbenchOAuthProvider:
        """The provider named by ``auth.oauth_provider`` of a workspace with a users file."""
        auth = stores.workspace.config.auth
        return cls(
            auth.oauth_provider,
            stores.users,
            SessionStore.for_workspace(stores.workspace),
            session_days=auth.session_days,
        )

    @property
    def get_user_async(self):
        panel_user = super().get_user_async

        async def get_user(handler):
            return self._checked(handler, await panel_user(handler))

        return get_user

    @property
    def login_handler(self):
        self._handler._login_endpoint = self._login_endpoint
        if self._error_template:
            self._handler._error_template = self._error_template
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
