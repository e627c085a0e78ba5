"""The HTTP protections of the workbench server, each applied to every response it sends.

- :class:`SecurityHeaders`, a Tornado output transform (it sees every response of every
  handler: pages, the login page, static files, errors), adds the content security policy,
  the refusal to be framed and the other headers of :data:`HEADERS`, allows the page's
  own scripts by a nonce it writes into them, and marks every cookie ``SameSite=Lax``
  (and ``Secure`` behind TLS).
- :class:`WorkbenchComponentHandler` answers ``/components/<module>/...`` only for a
  module of :data:`COMPONENT_PACKAGES` already loaded, never importing one.
- :class:`AdmittedDocHandler` builds the pages' documents one at a time, letting the
  server answer every other request between two builds, and refuses with 429 a client
  with more than :data:`MAX_WAITING_PAGES` pages waiting.
- :func:`restore_login_cookies` keeps the login cookies on the server: the session token
  that Bokeh writes into each page carries none (``include_cookies=[]``), and the
  session learns them from the request that opened it.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sys
import weakref
from collections import Counter
from collections.abc import Awaitable
from functools import partial

import panel as pn
from bokeh.server import urls as bokeh_urls
from panel.io.resources import COMPONENT_PATH
from panel.io.server import ComponentResourceHandler, DocHandler
from tornado import httputil
from tornado.web import HTTPError, OutputTransform, RequestHandler

#: The content security policy of every response, less the nonce of the page's scripts,
#: which :class:`SecurityHeaders` adds to ``script-src``.
POLICY = (
    ("default-src", "'self'"),
    ("script-src", "'self' 'unsafe-eval'"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self'"),
    ("connect-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)

#: The other headers of every response.
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

#: Sent behind TLS only: browsers then refuse plain HTTP to this host for a year.
HSTS = ("Strict-Transport-Security", "max-age=31536000")

_SCRIPT_TAG = re.compile(rb"<script\b", re.I)


def with_script_nonce(html: bytes, nonce: str) -> bytes:
    """``html`` with ``nonce`` on every ``<script>`` element it holds.

    A page's scripts are those of Bokeh's and Panel's templates (the document's models
    travel HTML-escaped in a JSON element, and outside text reaches a page only escaped);
    es-module-shims, loaded by every Panel page, takes the first nonce it finds for the
    scripts it creates itself.
    """
    return _SCRIPT_TAG.sub(f'<script nonce="{nonce}"'.encode(), html)


def content_security_policy(nonce: str | None) -> str:
    """The value of the ``Content-Security-Policy`` header, scripts carrying ``nonce``
    allowed (none without)."""
    return "; ".join(
        f"{name} {value} 'nonce-{nonce}'" if name == "script-src" and nonce else f"{name} {value}"
        for name, value in POLICY
    )


def with_cookie_flags(cookie: str, *, secure: bool) -> str:
    """A ``Set-Cookie`` value with ``SameSite=Lax`` (unless it names its own) and ``Secure``."""
    attributes = {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}
    if "samesite" not in attributes:
        cookie += "; SameSite=Lax"
    if secure and "secure" not in attributes:
        cookie += "; Secure"
    return cookie


class _FlaggedCookieHeaders(httputil.HTTPHeaders):
    """Response headers whose ``Set-Cookie`` lines get :func:`with_cookie_flags`: Tornado
    adds the cookies to the headers a transform returns, after the transform ran."""

    secure = False

    def add(self, name: str, value: str, **kwargs) -> None:
        if name.lower() == "set-cookie":
            value = with_cookie_flags(value, secure=self.secure)
        super().add(name, value, **kwargs)


class SecurityHeaders(OutputTransform):
    """Adds :data:`HEADERS` and the content security policy to every response, and the
    cookie flags to every cookie; ``behind_tls`` adds ``Secure`` and :data:`HSTS`.

    Give it to Tornado as ``transforms=[security_transform(behind_tls=...)]``.
    """

    def __init__(self, request: httputil.HTTPServerRequest, *, behind_tls: bool = False) -> None:
        super().__init__(request)
        self.behind_tls = behind_tls

    def transform_first_chunk(
        self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ):
        flagged = _FlaggedCookieHeaders(headers)
        flagged.secure = self.behind_tls
        nonce = None
        # a whole page at once (a streamed one would get no nonce: its scripts are refused)
        if finishing and headers.get("Content-Type", "").startswith("text/html"):
            nonce = secrets.token_urlsafe(18)
            chunk = with_script_nonce(chunk, nonce)
            if "Content-Length" in flagged:
                flagged["Content-Length"] = str(len(chunk))
        flagged["Content-Security-Policy"] = content_security_policy(nonce)
        for name, value in HEADERS.items():
            flagged[name] = value
        if self.behind_tls:
            flagged[HSTS[0]] = HSTS[1]
        return status_code, flagged, chunk


def security_transform(*, behind_tls: bool) -> partial:
    """The :class:`SecurityHeaders` transform of a server, for Tornado's ``transforms``."""
    return partial(SecurityHeaders, behind_tls=behind_tls)


# -- the component resources ----------------------------------------------------------------
#: Packages whose components may serve their files under ``/components/``.
COMPONENT_PACKAGES = ("panel", "bokeh", "app")


def component_module_allowed(module: str) -> bool:
    """True if ``module`` belongs to :data:`COMPONENT_PACKAGES` and is already loaded."""
    package = module.split(".", 1)[0]
    return package in COMPONENT_PACKAGES and module in sys.modules


class WorkbenchComponentHandler(ComponentResourceHandler):
    """Panel's ``/components/<module>/<class>/<attribute>/<path>`` for the modules of
    :func:`component_module_allowed` only: any other answers 404 without being imported
    (Panel's own handler imports whatever module the URL names)."""

    def parse_url_path(self, path: str) -> str:
        if not component_module_allowed(path.split("/", 1)[0]):
            raise HTTPError(404, "Module not found")
        return super().parse_url_path(path)


def component_route() -> tuple:
    """The route of :class:`WorkbenchComponentHandler`, for ``extra_patterns``: it comes
    before Panel's, which therefore never answers."""
    return (f"/{COMPONENT_PATH}(.*)", WorkbenchComponentHandler, {})


# -- the burst of pages ---------------------------------------------------------------------
#: Page builds one client (a user, or an address when nobody is logged in) may have
#: waiting; more are refused with 429 and ``Retry-After``.
MAX_WAITING_PAGES = 8
RETRY_AFTER_S = 5


#: How many times a page build lets the loop run what else is ready before it starts anyway.
MAX_YIELDS_BEFORE_BUILD = 200


async def after_ready_work(max_yields: int = MAX_YIELDS_BEFORE_BUILD) -> None:
    """Let the event loop run whatever else is ready before a page build holds it.

    A served page is a chain of short steps (the websocket's acknowledgement, the document's
    request, its reply written part by part, a tab's content), each one turn of the loop
    after the last. A build holds the loop for a fraction of a second, so with builds
    queued a chain that got one turn between two builds took one build per step: seconds
    for a page already built. This returns once a turn of the loop found nothing else to
    run (a step that waits for the browser is not ready, and waits for one build at most),
    or after ``max_yields`` turns.
    """
    loop = asyncio.get_running_loop()
    for _ in range(max_yields):
        await asyncio.sleep(0)
        if not getattr(loop, "_ready", None):  # asyncio's queue of callbacks ready to run
            return


class _Admission:
    """The page builds of one server: one at a time, each after whatever else the loop has
    ready (:func:`after_ready_work`), and how many each client awaits."""

    def __init__(self) -> None:
        self.turn = asyncio.Lock()
        self.waiting: Counter[str] = Counter()

    async def build(self, page: Awaitable) -> None:
        """Await ``page`` (a document's build, which never yields) in its turn."""
        async with self.turn:
            await after_ready_work()
            await page


_ADMISSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def page_client(handler: RequestHandler) -> str:
    """Who a page is built for, as the quota of :data:`MAX_WAITING_PAGES` counts: the user
    logged in, or without a login the address the request came from (Bokeh names every
    visitor of a server without login ``default_user``, which would make all of them one)."""
    provider = handler.application.auth_provider
    if provider.get_user is None and provider.get_user_async is None:
        return f"address {handler.request.remote_ip}"
    return f"user {handler.current_user}"


class AdmittedDocHandler(DocHandler):
    """Panel's page handler, building one document at a time.

    A document is built on the event loop, and a build takes a fraction of a second: fifty
    pages asked at once used to hold every other request until all fifty were built. Here
    each build waits for its turn, and before each turn the loop runs whatever else is
    ready (static files, the websockets' messages, the login); a client with more than
    :data:`MAX_WAITING_PAGES` builds waiting is told to come back later.
    """

    async def get(self, *args, **kwargs) -> None:
        page = super().get(*args, **kwargs)  # None when sent to the login page instead
        if page is None:
            return
        admission = _ADMISSIONS.setdefault(self.application, _Admission())
        client = page_client(self)
        if admission.waiting[client] >= MAX_WAITING_PAGES:
            page.close()
            self._refuse()
            return
        admission.waiting[client] += 1
        try:
            await admission.build(page)
        finally:
            admission.waiting[client] -= 1
            if not admission.waiting[client]:
                del admission.waiting[client]

    def _refuse(self) -> None:
        self.set_status(429)
        self.set_header("Retry-After", str(RETRY_AFTER_S))
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"Too many pages opening at once: try again in {RETRY_AFTER_S} s.\n")


def admit_pages() -> None:
    """Serve pages with :class:`AdmittedDocHandler`: Bokeh's table of per-page routes,
    where Panel put its own handler, then takes ours (call before the server starts)."""
    for index, (route, handler, *rest) in enumerate(bokeh_urls.per_app_patterns):
        if handler is DocHandler:
            bokeh_urls.per_app_patterns[index] = (route, AdmittedDocHandler, *rest)


# -- the login cookies ----------------------------------------------------------------------
def restore_login_cookies(session_context) -> None:
    """Give a new session the cookies of the request that opened it.

    Pass to ``pn.state.on_session_created``. The server runs with ``include_cookies=[]``
    and without the ``Cookie`` header in the token, so that the page holds no cookie a
    script could steal; Panel still reads the session's user from its cookies
    (``pn.state.user``), which this puts back, on the server only.
    """
    request = session_context.request
    original = getattr(request, "_request", None)  # the Tornado request Bokeh wraps
    for name, morsel in getattr(original, "cookies", {}).items():
        request.cookies.setdefault(name, morsel.value)


# -- all of them ----------------------------------------------------------------------------
class NotFoundHandler(RequestHandler):
    """Every address that is no page gets :func:`app.pages.layout.not_found_page` (404),
    with the navigation to every page."""

    def prepare(self) -> None:
        from app.pages.layout import not_found_page

        self.set_status(404)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(not_found_page(self.request.path))


def server_options(*, behind_tls: bool) -> dict:
    """The keyword arguments of :func:`panel.serve` that turn every protection of this
    module on; also installs :class:`AdmittedDocHandler` and :func:`restore_login_cookies`.

    Parameters
    ----------
    behind_tls : bool
        The server is reached through HTTPS (``server.behind_tls``): cookies get
        ``Secure`` and responses :data:`HSTS`.
    """
    admit_pages()
    if restore_login_cookies not in pn.state._on_session_created:  # once per process
        pn.state.on_session_created(restore_login_cookies)
    return {
        "transforms": [security_transform(behind_tls=behind_tls)],
        "extra_patterns": [component_route()],
        "default_handler_class": NotFoundHandler,
        "xsrf_cookies": True,
        "include_cookies": [],
        "exclude_headers": ["Cookie", "Authorization"],
    }
