"""What the browser makes of a text pane: the HTML Panel sends for it, its elements and its
text, for the tests of views that show text from outside (no browser needed)."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import panel as pn


def pane_html(pane) -> str:
    """The HTML a Markdown, HTML or Alert pane puts into the page (Panel escapes it once
    more for the transport; the browser unescapes it before setting ``innerHTML``)."""
    return html.unescape(pane._transform_object(pane.object)["object"])


def markdown_html(text: str) -> str:
    """``text`` rendered as a Markdown pane renders it."""
    return pane_html(pn.pane.Markdown(text))


class Parsed(HTMLParser):
    """The elements (tag and attributes) and the text of a piece of HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.chunks.append(data)

    @property
    def tags(self) -> set[str]:
        return {tag for tag, _ in self.elements}

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def parse(markup: str) -> Parsed:
    """The elements and text of ``markup``."""
    parsed = Parsed()
    parsed.feed(markup)
    parsed.close()
    return parsed


def shown_text(pane) -> str:
    """The text a person reads in a text pane (tags left out, entities decoded)."""
    return parse(pane_html(pane)).text
