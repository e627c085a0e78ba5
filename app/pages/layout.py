"""The frame every page shares: title, navigation to every page, a sidebar; and what a
page shows when it cannot be built."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import panel as pn
from panel.io.document import create_doc_if_none_exists

from app.markup import SafeHTML, html, join, markdown
from app.pages import PAGES
from app.views.feedback import failure_text

APP_TITLE = "GIC Workbench"


def navigation_html(current: str | None = None, *, base: str = "./") -> SafeHTML:
    """Links to the home page and every page, the current one in bold; ``base`` is the way
    from the page's address to the server's root ("./", "../"...)."""
    links = [html('<a href="{base}">Home</a>', base=base)]
    for spec in PAGES:
        label = html("<b>{title}</b>", title=spec.title) if spec.slug == current else spec.title
        links.append(
            html('<a href="{base}{slug}">{label}</a>', base=base, slug=spec.slug, label=label)
        )
    return join(html(" &middot; "), links)


def navigation(current: str | None = None) -> pn.pane.HTML:
    """:func:`navigation_html` as the pane at the top of every page."""
    return pn.pane.HTML(navigation_html(current), margin=(0, 10))


def not_found_page(path: str) -> SafeHTML:
    """The page of an address that is no page: says so, and links to every page.

    Parameters
    ----------
    path : str
        The address asked for (text from anyone: escaped).
    """
    depth = max(path.count("/") - 1, 0)
    base = "../" * depth or "./"
    return html(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>{app}: no such page</title></head>"
        '<body style="font-family: sans-serif; margin: 2em">'
        "<h1>No page at this address</h1>"
        "<p>There is no page at <code>{path}</code>: pick one of the pages below, or check "
        "the link you followed.</p><nav>{links}</nav></body></html>",
        app=APP_TITLE,
        path=path,
        links=navigation_html(base=base),
    )


class WorkbenchTemplate(pn.template.BootstrapTemplate):
    """Panel's Bootstrap template, whose models join the session's document all at once.

    Panel adds a template's parts to the document one root at a time, and Bokeh walks every
    model of the document again after each (``Document.models.recompute``); with the
    document's models frozen the walk happens once, when the page is complete: a quarter of
    the document's part of a page's build (bench/load.py)."""

    def server_doc(self, doc=None, title=None, location=True):
        document = create_doc_if_none_exists(doc)
        with document.models.freeze():
            return super().server_doc(document, title=title, location=location)


def page(title: str, main, *, sidebar=None, slug: str | None = None) -> pn.template.BaseTemplate:
    """Wrap a page's content in the workbench's template."""
    template = WorkbenchTemplate(
        title=f"{APP_TITLE}: {title}" if title != APP_TITLE else APP_TITLE,
        header_background="#1f3b57",
        sidebar_width=340,
        # Panel sets every open session's busy indicator whenever any session is busy, which
        # costs each page a little more for every other session open (bench/load.py).
        busy_indicator=None,
    )
    template.main.append(pn.Column(navigation(slug), main, sizing_mode="stretch_width"))
    if sidebar is not None:
        template.sidebar.append(sidebar)
    return template


def shown_safely(create: Callable[..., pn.template.BaseTemplate]) -> Callable:
    """A page module's ``create``, which, when building the page fails, gives the page's
    frame saying so in words (the traceback logged by ``gic.<page>``), not the traceback
    that Panel would put on the page with the exception's text (a link's parameters
    included) as HTML."""
    name = create.__module__.rsplit(".", 1)[-1]

    @functools.wraps(create)
    def build(stores, *args, **options):
        try:
            return create(stores, *args, **options)
        except Exception as exc:  # the page says why; the traceback goes to the log
            slug = options.get("caltype", name)
            log = logging.getLogger(f"gic.{slug}")
            reason = failure_text(exc, doing=f"building the {slug} page", log=log)
            said = markdown("**This page could not be shown**: {reason}.", reason=reason)
            title = APP_TITLE if name == "home" else slug.capitalize()
            return page(
                title,
                pn.pane.Alert(said, alert_type="danger"),
                slug=None if name == "home" else slug,
            )

    return build
