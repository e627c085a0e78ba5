"""The frame every page shares: title, navigation to every page, a sidebar."""

from __future__ import annotations

import panel as pn

from app.markup import html, join
from app.pages import PAGES

APP_TITLE = "GIC Workbench"


def navigation(current: str | None = None) -> pn.pane.HTML:
    """Links to the home page and every page, the current one in bold."""
    links = [html('<a href="./">Home</a>')]
    for spec in PAGES:
        label = html("<b>{title}</b>", title=spec.title) if spec.slug == current else spec.title
        links.append(html('<a href="./{slug}">{label}</a>', slug=spec.slug, label=label))
    return pn.pane.HTML(join(html(" &middot; "), links), margin=(0, 10))


def page(title: str, main, *, sidebar=None, slug: str | None = None) -> pn.template.BaseTemplate:
    """Wrap a page's content in the workbench's template."""
    template = pn.template.BootstrapTemplate(
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
