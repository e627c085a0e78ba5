"""The attention list as the home page shows it: its items' links, hostile text kept as text,
and "Nothing needs attention" with the time checked."""

from __future__ import annotations

from datetime import datetime

import panel as pn
import pytest

from app.markup import page_link
from app.views.attention import AttentionList, attention_text
from pipelines.attention import Attention, AttentionItem
from tests.app.shown import Parsed, markdown_html

CHECKED = datetime(2026, 12, 2, 3, 4, 5)
HOSTILE = '<img src=x onerror="alert(1)"> [x](javascript:alert(1))'


def test_an_empty_list_says_so_with_the_time_checked(stores):
    view = AttentionList(stores)
    [text] = view.__panel__().select(pn.pane.Markdown)
    assert "Nothing needs attention (checked " in text.object
    assert "Nothing needs attention (checked 2026-12-02 03:04:05 UTC)." in markdown_html(
        attention_text(Attention(CHECKED, ()))
    )


def test_each_item_links_to_where_it_is_fixed_and_outside_text_stays_text():
    item = AttentionItem(
        "failed push",
        "error",
        f"The push of {HOSTILE} failed.",
        HOSTILE,
        "products",
        (("burst", HOSTILE), ("product", "7")),
    )
    parsed = Parsed()
    parsed.feed(markdown_html(attention_text(Attention(CHECKED, (item,)))))
    assert parsed.tags <= {"h3", "ul", "li", "p", "strong", "a"}
    [attrs] = [attrs for tag, attrs in parsed.elements if tag == "a"]
    assert attrs == {"href": "." + item.link}
    assert item.link.startswith("/products?burst=%3Cimg+src%3Dx") and item.link.endswith(
        "&product=7"
    )
    text = "".join(parsed.chunks)
    assert "error, failed push" in text and f"products: {HOSTILE}" in text


def test_a_failed_check_has_no_link():
    item = AttentionItem("check failed", "error", "The check of x failed: boom", "x", "")
    assert "<a " not in markdown_html(attention_text(Attention(CHECKED, (item,))))


@pytest.mark.parametrize(
    "address", ["https://evil.example/", "//evil.example", '/x" onclick="a', "javascript:x"]
)
def test_a_page_link_takes_only_a_page_address(address):
    with pytest.raises(ValueError, match="is not a page's address"):
        page_link(address, "x")


def test_an_item_about_a_burst_links_to_its_dossier_too():
    item = AttentionItem(
        "awaiting approval", "info", "x", "sb26113000", "products", (("burst", "sb26113000"),)
    )
    parsed = Parsed()
    parsed.feed(markdown_html(attention_text(Attention(CHECKED, (item,)))))
    links = [attrs["href"] for tag, attrs in parsed.elements if tag == "a"]
    assert links == ["./products?burst=sb26113000", "./burst?id=sb26113000"]
