"""What needs attention now (:mod:`pipelines.attention`): the list the home page opens with,
each item's sentence and a link to the page where it is fixed.

The same view runs in a notebook::

    stores = Stores.open("demo-workspace", read_only=True)
    AttentionList(stores)
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import panel as pn

from analysis.voevent import BURST_ID_PATTERN
from app.markup import SafeMarkdown, bullets, burst_link, markdown, page_link, paragraphs
from app.views.feedback import guarded
from data_access.stores import Stores
from pipelines.attention import Attention, AttentionItem, attention

LOG = logging.getLogger("gic.home")


class AttentionList(pn.viewable.Viewer):
    """The items that need someone now, most urgent first, and when they were checked.

    Parameters
    ----------
    stores : Stores
    """

    def __init__(self, stores: Stores, **params) -> None:
        super().__init__(**params)
        self.stores = stores
        self._text = pn.pane.Markdown(sizing_mode="stretch_width")
        self._again = pn.widgets.Button(label="Check again", color="light", width=120)
        self._again.on_click(guarded("Checking again", LOG)(lambda event: self.refresh()))
        self.refresh()

    def check(self) -> Attention:
        """The items found now (:func:`pipelines.attention.attention`)."""
        return attention(self.stores, now=datetime.now(UTC))

    def refresh(self) -> None:
        """Check again and show what was found."""
        self._text.object = attention_text(self.check())

    def __panel__(self):
        return pn.Column(self._text, self._again, sizing_mode="stretch_width")


def attention_text(found: Attention) -> SafeMarkdown:
    """The list as Markdown: a heading, one bullet per item (its severity, kind, sentence
    and link), or "Nothing needs attention" with the time checked."""
    checked = markdown("checked {at:%Y-%m-%d %H:%M:%S} UTC", at=found.checked_at)
    if not found.items:
        return paragraphs(
            markdown("### What needs attention now"),
            markdown("Nothing needs attention ({checked}).", checked=checked),
        )
    return paragraphs(
        markdown(
            "### What needs attention now: {count} items ({checked})",
            count=len(found.items),
            checked=checked,
        ),
        bullets(item_line(item) for item in found.items),
    )


def item_line(item: AttentionItem) -> SafeMarkdown:
    """One item: its severity and kind in bold, its sentence, a link to where it is fixed
    (the page and the object) when it has one, and to the burst's dossier when the object
    is a burst."""
    line = markdown(
        "**{severity}, {kind}**: {sentence}",
        severity=item.severity,
        kind=item.kind,
        sentence=item.sentence,
    )
    if not item.page:
        return line
    link = page_link(item.link, f"{item.page}: {item.subject}")
    if item.page != "burst" and BURST_ID_PATTERN.match(item.subject):
        return markdown(
            "{line} → {link} (dossier: {dossier})",
            line=line,
            link=link,
            dossier=burst_link(item.subject),
        )
    return markdown("{line} → {link}", line=line, link=link)
