"""Text from outside, escaped before it reaches a page: the one helper every view uses.

A VOEvent comes from a public broker, a FITS header from any camera, a sensor name from
a status file, a URL parameter from anyone who sends a link, a user name from the login:
such text is data, never markup. Before it meets a Markdown or HTML pane, a notification
or a widget label that the browser renders as HTML, a view passes it through here::

    pn.pane.Markdown(markdown("### {name}: {count} frames", name=header["IM_NAME"], count=8))
    pn.pane.HTML(html("<b>{title}</b><pre>{text}</pre>", title=name, text=raw_xml))
    pn.widgets.MultiChoice(options=option_labels(sensor_names))

A template is the view's own text, trusted; every value put into it is escaped. What
comes back is a :class:`SafeMarkdown` or a :class:`SafeHTML`: a ``str`` that this module
puts unchanged into a larger text of the same kind, so that parts can be built apart and
joined (:func:`join`, :func:`paragraphs`, :func:`bullets`). ``tests/test_layers.py`` checks that the
text panes, notifications and HTML labels of ``app/`` only receive literals or what this
module built.

Characters that reorder or hide text (bidirectional overrides such as U+202E, zero-width
spaces, other Unicode format and control characters) are shown as ``[U+202E]``, so that a
name cannot pass for another one on the page.
"""

from __future__ import annotations

import html as _html
import re
import string
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any


class SafeMarkdown(str):
    """Markdown whose text from outside is escaped (what :func:`markdown` returns)."""


class SafeHTML(str):
    """HTML whose text from outside is escaped (what :func:`html` returns)."""


#: Every ASCII punctuation character: CommonMark lets a backslash escape any of them, and
#: escaping all of them leaves a value no way to open or close any Markdown construct
#: (code spans, links, emphasis, tables, HTML, autolinks, lists, math).
_MARKDOWN_PUNCTUATION = re.compile(f"([{re.escape(string.punctuation)}])")
_KEPT_CONTROLS = "\t\n\r"


def _visible(text: str) -> str:
    """``text`` with every Unicode format or control character (but tab and line breaks)
    written as ``[U+XXXX]``."""
    if text.isprintable():
        return text
    return "".join(
        f"[U+{ord(c):04X}]"
        if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
        and c not in _KEPT_CONTROLS
        else c
        for c in text
    )


def escape_html(value: Any) -> SafeHTML:
    """``value`` as text for HTML: ``& < > " '`` escaped, so that it can go between tags or
    into a quoted attribute.

    Parameters
    ----------
    value : object
        Any value; not a string, it is shown as ``str(value)``. A :class:`SafeHTML` is
        returned unchanged.

    Returns
    -------
    SafeHTML

    Examples
    --------
    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    if isinstance(value, SafeHTML):
        return value
    return SafeHTML(_html.escape(_visible(str(value)), quote=True))


def escape_markdown(value: Any) -> SafeMarkdown:
    """``value`` as text for Markdown: every ASCII punctuation character backslash-escaped
    and line breaks made spaces, so that it reads as written and cannot close a code span,
    open a link, an emphasis or a list, start a table cell or bring raw HTML.

    Parameters
    ----------
    value : object
        Any value; not a string, it is shown as ``str(value)``. A :class:`SafeMarkdown` is
        returned unchanged.

    Returns
    -------
    SafeMarkdown

    Examples
    --------
    >>> escape_markdown("[x](javascript:alert(1))")
    '\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
    """
    if isinstance(value, SafeMarkdown):
        return value
    text = " ".join(_visible(str(value)).splitlines())
    return SafeMarkdown(_MARKDOWN_PUNCTUATION.sub(r"\\\1", text))


class _EscapingFormatter(string.Formatter):
    """``str.format`` that escapes each value, unless it is already of the safe kind."""

    def __init__(self, safe: type, escape: Callable[[Any], str]) -> None:
        self.safe, self.escape = safe, escape

    def format_field(self, value: Any, format_spec: str) -> str:
        formatted = format(value, format_spec)
        return self.safe(formatted) if isinstance(value, self.safe) else self.escape(formatted)


_MARKDOWN_FORMATTER = _EscapingFormatter(SafeMarkdown, escape_markdown)
_HTML_FORMATTER = _EscapingFormatter(SafeHTML, escape_html)


def markdown(template: str, /, **values: Any) -> SafeMarkdown:
    """The view's Markdown ``template`` filled in with escaped ``values``.

    Parameters
    ----------
    template : str
        Trusted Markdown with ``str.format`` fields (``{name}``, ``{mean:.4g}``); a literal
        of the view, never text from outside.
    **values
        Escaped with :func:`escape_markdown` after their format spec is applied; a
        :class:`SafeMarkdown` (another call's result, :func:`code`) goes in unchanged.

    Returns
    -------
    SafeMarkdown

    Examples
    --------
    >>> markdown("**{name}** has {n:d} frames", name="<b>sb1</b>", n=8)
    '**\\\\<b\\\\>sb1\\\\<\\\\/b\\\\>** has 8 frames'
    """
    return SafeMarkdown(_MARKDOWN_FORMATTER.vformat(template, (), values))


def html(template: str, /, **values: Any) -> SafeHTML:
    """The view's HTML ``template`` filled in with escaped ``values``.

    Parameters
    ----------
    template : str
        Trusted HTML with ``str.format`` fields; a value may stand between tags or inside a
        quoted attribute (never unquoted, never in a URL, a ``style`` or a script).
    **values
        Escaped with :func:`escape_html` after their format spec is applied; a
        :class:`SafeHTML` goes in unchanged.

    Returns
    -------
    SafeHTML

    Examples
    --------
    >>> html("<b title='{name}'>{name}</b>", name="' onmouseover='alert(1)")
    "<b title='&#x27; onmouseover=&#x27;alert(1)'>&#x27; onmouseover=&#x27;alert(1)</b>"
    """
    return SafeHTML(_HTML_FORMATTER.vformat(template, (), values))


def code(value: Any) -> SafeMarkdown:
    """``value`` in a monospace font inside Markdown (a ``<code>`` element: unlike a code
    span between backticks, no value can close it).

    Examples
    --------
    >>> code("ivo://svom/a`b")
    '<code>ivo\\\\:\\\\/\\\\/svom\\\\/a\\\\`b</code>'
    """
    return SafeMarkdown(f"<code>{escape_markdown(value)}</code>")


def join(separator: SafeMarkdown | SafeHTML, parts: Iterable[Any]) -> SafeMarkdown | SafeHTML:
    """The parts joined by ``separator``, a :func:`markdown` or :func:`html` result; a part
    that is not of the separator's kind is escaped for it.

    Examples
    --------
    >>> join(html(" &middot; "), [html("<b>{x}</b>", x="a"), "<i>"])
    '<b>a</b> &middot; &lt;i&gt;'
    """
    if isinstance(separator, SafeHTML):
        return SafeHTML(separator.join(escape_html(part) for part in parts))
    if isinstance(separator, SafeMarkdown):
        return SafeMarkdown(separator.join(escape_markdown(part) for part in parts))
    raise TypeError(f"the separator must be built by markdown() or html(), got {separator!r}")


def paragraphs(*parts: Any) -> SafeMarkdown:
    """The parts as Markdown paragraphs (a blank line between two); a part that is not
    :class:`SafeMarkdown` is escaped."""
    return join(SafeMarkdown("\n\n"), parts)


def bullets(items: Iterable[Any]) -> SafeMarkdown:
    """The items as a Markdown bullet list, one a line; an item that is not
    :class:`SafeMarkdown` is escaped."""
    return SafeMarkdown("\n".join(f"- {escape_markdown(item)}" for item in items))


def burst_link(burst_id: Any) -> SafeMarkdown:
    """A link to the burst's dossier (``./burst?id=...``) for a Markdown pane: the ID
    URL-encoded in the address and escaped in the text.

    Examples
    --------
    >>> burst_link("sb26120190")
    '<a href="./burst?id=sb26120190">sb26120190</a>'
    """
    return page_link(f"/burst?id={urllib.parse.quote(str(burst_id), safe='')}", burst_id)


#: A page's address from the server's root: its slug, then a URL-encoded query.
_PAGE_ADDRESS = re.compile(r"/[a-z0-9_-]*(\?[A-Za-z0-9._~%=&+-]*)?")


def page_link(address: str, text: Any) -> SafeMarkdown:
    """A link to a page of the workbench for a Markdown pane: ``address`` from the server's
    root (``/products?burst=sb26120190``) made relative, the text escaped.

    Raises
    ------
    ValueError
        If ``address`` is not a page's: a slash, the slug, and a URL-encoded query
        (``urllib.parse.urlencode``).

    Examples
    --------
    >>> page_link("/products?burst=sb26120190&product=3", "sb26120190")
    '<a href="./products?burst=sb26120190&amp;product=3">sb26120190</a>'
    """
    if not _PAGE_ADDRESS.fullmatch(address):
        raise ValueError(f"{address!r} is not a page's address (/slug?encoded-query)")
    return SafeMarkdown(f'<a href=".{escape_html(address)}">{escape_markdown(text)}</a>')


def option_labels(values: Iterable[Any]) -> dict[SafeHTML, Any]:
    """Options for a widget whose labels the browser renders as HTML (Panel's
    ``MultiChoice``, through Choices.js): escaped label → the value itself.

    Examples
    --------
    >>> option_labels(["<b>dome</b>", "tcs"])
    {'&lt;b&gt;dome&lt;/b&gt;': '<b>dome</b>', 'tcs': 'tcs'}
    """
    return {escape_html(value): value for value in values}


__all__ = [
    "SafeHTML",
    "SafeMarkdown",
    "bullets",
    "burst_link",
    "code",
    "escape_html",
    "escape_markdown",
    "html",
    "join",
    "markdown",
    "option_labels",
    "page_link",
    "paragraphs",
]
