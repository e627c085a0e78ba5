"""The home page: what needs attention now, then what the workbench holds, with a link to
every page."""

from __future__ import annotations

import importlib

import panel as pn

from app.markup import code, markdown
from app.pages import PAGES, PageSpec
from app.pages.layout import APP_TITLE, page, shown_safely
from app.views.attention import AttentionList
from data_access.stores import Stores


def headline(spec: PageSpec, stores: Stores) -> str:
    """The page's one-line state of things (its module's ``headline(stores)``), or ''."""
    module = importlib.import_module(spec.module)
    return module.headline(stores, **spec.options) if hasattr(module, "headline") else ""


@shown_safely
def create(stores: Stores):
    cards = [
        pn.pane.Markdown(
            markdown(
                "### [{title}](./{slug})\n{summary}\n\n**{headline}**",
                title=spec.title,
                slug=spec.slug,
                summary=spec.summary,
                headline=headline(spec, stores),
            ),
            styles={"border": "1px solid #ccd", "border-radius": "6px", "padding": "4px 12px"},
            width=360,
        )
        for spec in PAGES
    ]
    intro = pn.pane.Markdown(
        markdown(
            "The instrument scientists' workbench of the COLIBRI ground interface: calibration, "
            "telemetry, SVOM alerts, GP2 reprocessing and GFT products, over the DuckDB cache of "
            "the workspace {root}.",
            root=code(stores.workspace.root),
        )
    )
    return page(
        APP_TITLE,
        pn.Column(AttentionList(stores), intro, pn.FlexBox(*cards), sizing_mode="stretch_width"),
    )
