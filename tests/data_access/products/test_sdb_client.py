"""The SDB client's pure parts: the server's answer said as a sentence."""

from __future__ import annotations

import pytest

from data_access.products.sdb_client import answer_sentence


@pytest.mark.parametrize(
    ("answer", "sentence"),
    [
        ({"OK": "Product inserted.", "card": "DT_GFT_FGFT", "name": "x.fits"}, "Product inserted."),
        ({"OK": "Product updated"}, "Product updated."),
        ({"OK": True}, "OK."),
        ({"error": "x.fits: unknown card"}, "x.fits: unknown card."),
        (None, "no answer."),
    ],
)
def test_the_answer_is_a_sentence_not_a_dict(answer, sentence):
    assert answer_sentence(answer) == sentence
