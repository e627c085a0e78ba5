"""The workbench server: every page on one Panel server.

Every page of every session is built over the workspace's :class:`~data_access.stores.Stores`,
which read and write the cache as any other process of the workspace does (a notebook, a
command, the alert handler). Unless ``[server] background = "never"``, the server also starts
a ``gic worker --wait`` process of its own, kept running, which runs the workspace's
background work (the scheduled syncs, the alert sources, the lake's maintenance:
:mod:`app.worker`) when no other process does: in a process apart, not beside the pages
(it took a fifth of the page server's time under load, bench/load.py). With ``[server]
processes`` above 1, ``gic serve`` runs that many of these servers behind the sticky proxy
of :mod:`app.sticky_proxy`.
"""

from __future__ import annotations

import gc
import importlib
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

import panel as pn
from bokeh.settings import settings as bokeh_settings

from app.auth import WorkbenchAuthProvider, WorkbenchOAuthProvider
from app.bokeh_defaults import remember_stable_defaults
from app.pages import PAGES, home
from app.views.feedback import unexpected_failure
from app.web_security import server_options
from app.worker import Worker
from data_access.background import KeptProcess
from data_access.stores import Stores

log = logging.getLogger("gic.server")

#: A session whose browser has gone is dropped after this long (Bokeh's default is 15 s,
#: checked every 17 s), so that its periodic refreshes stop soon.
UNUSED_SESSION_LIFETIME_MS = 5000
CHECK_UNUSED_SESSIONS_MS = 2000


def routes(stores: Stores) -> dict[str, Callable]:
    """URL slug to page factory, for :func:`panel.serve`."""
    table: dict[str, Callable] = {"/": lambda: home.create(stores)}
    for spec in PAGES:
        module = importlib.import_module(spec.module)
        table[f"/{spec.slug}"] = lambda module=module, spec=spec: module.create(
            stores, **spec.options
        )
    return table


def start_demo_services(stores: Stores) -> list:
    """A demo workspace gets the SDB sandbox on ``sdb.sandbox_port``, in this process, so that
    the Products page can push and pull offline; other workspaces get nothing."""
    from demo import is_demo
    from sandbox.sdb import SandboxServer

    if not is_demo(stores.workspace.root):
        return []
    settings = stores.workspace.config.sdb
    try:
        sandbox = SandboxServer(
            stores.workspace.path(settings.sandbox_dir), port=settings.sandbox_port
        ).start()
    except OSError as exc:  # the port is taken: most likely a sandbox already serves there
        log.warning("demo SDB sandbox not started on port %s: %s", settings.sandbox_port, exc)
        return []
    log.info("demo SDB sandbox serving on %s", sandbox.url)
    return [sandbox]


def _login_options(stores: Stores, address: str) -> dict:
    """The login of :mod:`app.auth`: OAuth when ``auth.oauth_provider`` is set, passwords when
    only a users file is; without either, loopback only."""
    auth = stores.workspace.config.auth
    if auth.oauth_provider:
        return _oauth_options(stores)
    if stores.users is None:
        if not ipaddress.ip_address(socket.gethostbyname(address)).is_loopback:
            raise ValueError(
                f"refusing to listen on {address} without a login: set auth.users_file in "
                f"{stores.workspace.config_path} and add users with `gic users add`"
            )
        return {}
    pn.config.oauth_expiry = stores.workspace.config.auth.session_days
    return {
        "auth_provider": WorkbenchAuthProvider.from_stores(stores),
        "cookie_secret": stores.workspace.secret("cookie_secret"),
    }


def _oauth_options(stores: Stores) -> dict:
    auth = stores.workspace.config.auth
    if stores.users is None:
        raise ValueError(
            f"{stores.workspace.config_path}: auth.oauth_provider needs "
            "auth.users_file, which gives the users' roles"
        )
    secret = os.environ.get(auth.oauth_secret_env, "")
    if not auth.oauth_key or not secret:
        raise ValueError(
            f"{stores.workspace.config_path}: auth.oauth_provider needs "
            f"auth.oauth_key and the secret in ${auth.oauth_secret_env}"
        )
    extra = dict(item.split("=", 1) for item in auth.oauth_extra if "=" in item)
    pn.config.oauth_expiry = auth.session_days
    try:
        provider = WorkbenchOAuthProvider.from_stores(stores)
    except ValueError as exc:
        raise ValueError(f"{stores.workspace.config_path}: auth.oauth_provider: {exc}") from exc
    return {  # the provider is given, not named: Panel would make its own, without sessions
        "auth_provider": provider,
        "oauth_key": auth.oauth_key,
        "oauth_secret": secret,
        "oauth_redirect_uri": auth.oauth_redirect_uri or None,
        "oauth_extra_params": extra,
        "cookie_secret": stores.workspace.secret("cookie_secret"),
    }


#: The values of ``[server] background``.
BACKGROUND_CHOICES = ("auto", "never")


def _background(stores: Stores, choice: str) -> KeptProcess | None:
    """The server's own ``gic worker --wait`` (started, kept running) when ``choice`` is
    auto, else None. The worker waits for the workspace's turn while another process holds
    it, and takes the work over when that one stops."""
    if choice not in BACKGROUND_CHOICES:
        raise ValueError(
            f"{stores.workspace.config_path}: server.background is {choice!r}; "
            f"expected one of {', '.join(BACKGROUND_CHOICES)}"
        )
    if choice == "never":
        return None
    Worker(stores)  # its settings refused before the server starts, not in the worker's log
    root = stores.workspace.root
    worker = KeptProcess(
        "background worker",
        lambda: [sys.executable, "-m", "app.cli", "--workspace", str(root), "worker", "--wait"],
        root / "logs" / "worker.log",
        first_wait_s=2.0,
    )
    worker.start()
    return worker


def serve(
    stores: Stores,
    *,
    address: str | None = None,
    port: int | None = None,
    show: bool = False,
    threaded: bool = False,
    start_services: bool = True,
    background: str | None = None,
    public_port: int | None = None,
):
    """Serve every page of the workspace; blocks unless ``threaded``. A demo workspace also
    gets its services (:func:`start_demo_services`) unless ``start_services`` is false.

    Parameters
    ----------
    background : {"auto", "never"}, optional
        Whether the server starts its worker process (default: ``[server] background``).
    public_port : int, optional
        The port the browsers reach when this process serves behind the sticky proxy of
        :mod:`app.sticky_proxy` (its websocket origins are allowed, and the browser's address
        is taken from the proxy's ``X-Forwarded-For``).

    Returns
    -------
    The Panel server (a thread when ``threaded``), with ``.stop()`` and ``.background`` (the
    worker process kept, or None).
    """
    settings = stores.workspace.config.server
    address = address or settings.address
    port = settings.port if port is None else port
    background = _background(stores, settings.background if background is None else background)
    extra = _login_options(stores, address)
    services = start_demo_services(stores) if start_services else []
    origins = [
        f"localhost:{port}",
        f"127.0.0.1:{port}",
        f"{address}:{port}",
        *([f"localhost:{public_port}", f"127.0.0.1:{public_port}"] if public_port else []),
        *([f"{address}:{public_port}"] if public_port else []),
        *settings.allow_websocket_origin,
    ]
    pn.extension("tabulator", notifications=True)
    pn.config.exception_handler = unexpected_failure  # in words, never the exception's text
    # Bokeh checks every new document's models for mistakes a developer makes; the pages are
    # checked by the test suite, and skipping it spares each page build (bench/load.py).
    bokeh_settings.perform_document_validation.set_value(False)
    remember_stable_defaults()  # a fifth of a page's build was Bokeh working them out again
    pages = routes(stores)  # imports every page's modules
    if not threaded:
        # Panel runs a full garbage collection a few seconds after each closed session; what
        # the process holds by now (modules, settings, the stores) is never garbage: left
        # out of every collection, it halved their time (a sixth of a served page's CPU)
        gc.freeze()
    server = pn.serve(
        pages,
        address=address,
        port=port,
        websocket_origin=origins,
        show=show,
        threaded=threaded,
        title={"/": "GIC Workbench", **{f"/{p.slug}": p.title for p in PAGES}},
        verbose=True,
        unused_session_lifetime_milliseconds=UNUSED_SESSION_LIFETIME_MS,
        check_unused_sessions_milliseconds=CHECK_UNUSED_SESSIONS_MS,
        # behind the sticky proxy, the browser's address is the proxy's X-Forwarded-For
        use_xheaders=public_port is not None,
        **server_options(behind_tls=settings.behind_tls),
        **extra,
    )
    if not threaded and background is not None:  # the server has stopped
        background.stop()
    server.background = background
    server.services = services
    return server


def serve_processes(
    stores: Stores, processes: int, *, address: str | None = None, port: int | None = None
) -> None:
    """Serve the workspace from ``processes`` page servers behind the sticky proxy of
    :mod:`app.sticky_proxy` on ``address:port``, this process starting the worker process
    (see :func:`_background`) and running a demo's services; blocks until interrupted."""
    from tornado.ioloop import IOLoop

    from app.sticky_proxy import PageServers, StickyProxy

    settings = stores.workspace.config.server
    address = address or settings.address
    port = settings.port if port is None else port
    _login_options(stores, address)  # refuses a public address without a login
    background = _background(stores, settings.background)
    services = start_demo_services(stores)  # noqa: F841 - serve while the proxy does
    page_servers = PageServers(stores.workspace.root, processes, port)
    try:
        page_servers.start()
        StickyProxy(page_servers.ports).listen(address, port)
        log.info(
            "serving on http://%s:%s through %d page servers (ports %s)",
            address,
            port,
            processes,
            ", ".join(map(str, page_servers.ports)),
        )
        loop = IOLoop.current()
        loop.asyncio_loop.add_signal_handler(signal.SIGTERM, loop.stop)  # page servers stopped
        loop.start()
    finally:
        page_servers.stop()
        if background is not None:
            background.stop()
