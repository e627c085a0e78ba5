"""The one escaping helper: hostile text stays text in HTML and in Markdown, as Panel
renders them (no browser: the HTML a pane sends is parsed here)."""

from __future__ import annotations

import pytest

from app.markup import (
    SafeHTML,
    SafeMarkdown,
    bullets,
    code,
    escape_html,
    escape_markdown,
    html,
    join,
    markdown,
    option_labels,
    paragraphs,
)
from tests.app.shown import markdown_html, parse

#: Text an attacker puts in a VOEvent, a FITS header, a sensor name or a URL.
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '" onmouseover="alert(1)',
    "' autofocus onfocus='alert(1)",
    "javascript:alert(1)",
    "``<img src=x onerror=alert(1)>",
    "` `<img src=x onerror=alert(1)>`",
    "[x](javascript:alert(1))",
    "![x](x onerror=alert(1))",
    "</pre><script>alert(1)</script>",
    "</code></p><svg onload=alert(1)>",
    "<!-- --><iframe srcdoc='<script>alert(1)</script>'>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "**bold** _it_ ~~gone~~ | a | b |",
    "# heading",
    "1. list",
    "http://evil.example/ www.evil.example x@evil.example",
    "$$\\href{javascript:alert(1)}{x}$$",
    "a\\<img src=x onerror=alert(1)>",
    "＜script＞alert(1)＜/script＞",
]
#: Characters that reorder or hide text, and how they are shown.
UNICODE_TRICKS = {
    "invoice\u202efdp.exe": "invoice[U+202E]fdp.exe",
    "ad\u200bmin": "ad[U+200B]min",
    "\u2066x\u2069": "[U+2066]x[U+2069]",
    "zero\ufeffwidth": "zero[U+FEFF]width",
    "bell\x07": "bell[U+0007]",
}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_keeps_a_payload_as_text_between_tags_and_in_attributes(payload):
    built = html("<p title='{v}' class=\"{v}\"><b>{v}</b></p>", v=payload)
    parsed = parse(built)
    assert parsed.elements == [("p", {"title": payload, "class": payload}), ("b", {})]
    assert parsed.text == payload
    assert isinstance(built, SafeHTML)
    escaped = escape_html(payload)
    assert not set("<>\"'") & set(escaped)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markdown_keeps_a_payload_as_text_wherever_it_stands(payload):
    template = "### {v}\n\n**{v}** and _{v}_, in a [link]({url}) text [{v}](./x)\n\n- {v}\n\n{v}"
    built = markdown(template, v=payload, url="./products")
    parsed = parse(markdown_html(built))
    assert parsed.tags == {"h3", "p", "strong", "em", "a", "ul", "li"}
    assert [attrs for tag, attrs in parsed.elements if tag == "a"] == [
        {"href": "./products"},
        {"href": "./x"},
    ]
    assert parsed.text.count(payload) == 6
    assert parse(markdown_html(escape_markdown(payload))).text.strip() == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_and_table_cells_hold_a_payload(payload):
    table = markdown("| name | value |\n|---|---|\n| {v} | {c} |", v=payload, c=code(payload))
    parsed = parse(markdown_html(table))
    assert parsed.tags == {"table", "thead", "tbody", "tr", "th", "td", "code"}
    assert parsed.text.count(payload) == 2


def test_line_breaks_of_a_value_cannot_start_a_block():
    parsed = parse(markdown_html(markdown("{v}", v="first\n\n# second\n<script>x</script>")))
    assert parsed.tags == {"p"} and parsed.text.strip() == "first  # second <script>x</script>"


@pytest.mark.parametrize(("trick", "shown"), UNICODE_TRICKS.items())
def test_characters_that_reorder_or_hide_text_are_shown(trick, shown):
    assert escape_html(trick) == shown
    assert parse(markdown_html(escape_markdown(trick))).text.strip() == shown


def test_fullwidth_brackets_are_only_text():
    assert escape_html("＜script＞") == "＜script＞"


def test_values_are_formatted_then_escaped_and_safe_parts_kept():
    assert markdown("{x:.2f} {n:>3d} {s!r}", x=1.2345, n=7, s="a") == "1\\.23   7 \\'a\\'"
    bold = markdown("**{name}**", name="<b>")
    assert markdown("{a} then {b}", a=bold, b="*") == "**\\<b\\>** then \\*"
    assert escape_markdown(bold) is bold and escape_html(escape_html("<")) == "&lt;"
    assert html("{x}", x=SafeHTML("<br>")) == "<br>" and html("{x}", x=bold) != bold
    assert isinstance(markdown("plain"), SafeMarkdown) and markdown("{{literal}}") == "{literal}"
    assert escape_html(None) == "None" and escape_markdown(3.5) == "3\\.5"


def test_paragraphs_and_bullets_escape_what_is_not_safe():
    text = paragraphs(markdown("**{x}**", x="a"), "*b*", bullets(["<i>", markdown("_ok_")]))
    assert text == "**a**\n\n\\*b\\*\n\n- \\<i\\>\n- _ok_"
    parsed = parse(markdown_html(text))
    assert parsed.tags == {"p", "strong", "ul", "li", "em"} and "*b*" in parsed.text


def test_option_labels_map_escaped_labels_to_the_values():
    options = option_labels(["<img src=x onerror=alert(1)>", "tcs-mount-az", 42])
    assert options == {
        "&lt;img src=x onerror=alert(1)&gt;": "<img src=x onerror=alert(1)>",
        "tcs-mount-az": "tcs-mount-az",
        "42": 42,
    }


def test_join_escapes_each_part_for_its_separator():
    links = [html("<a href='./{s}'>{s}</a>", s="x"), "<img src=x onerror=alert(1)>"]
    joined = join(html(" &middot; "), links)
    assert parse(joined).tags == {"a"} and "<img" in parse(joined).text
    assert join(markdown(", "), [code("a`b"), "*"]) == "<code>a\\`b</code>, \\*"
    with pytest.raises(TypeError, match="separator must be built"):
        join(", ", ["a"])
