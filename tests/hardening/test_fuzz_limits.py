"""The nesting check before every JSON parse, fuzzed: on any JSON, its depth is the depth of
what ``json.loads`` makes of it (strings full of brackets, quotes and backslashes included),
and on any bytes, :func:`load_json` returns what ``json.loads`` does or raises a ValueError."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from analysis.limits import MAX_JSON_DEPTH, json_depth, load_json
from tests.hardening._fuzz import FUZZ, mutations

tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\/ aé\n\t\x00\u2028'), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=12,
)


def depth(value) -> int:
    if isinstance(value, list | dict):
        children = value.values() if isinstance(value, dict) else value
        return 1 + max((depth(child) for child in children), default=0)
    return 0


@FUZZ
@given(json_values, st.booleans(), st.sampled_from([None, 1]))
def test_json_depth_is_the_depth_of_the_parsed_value(value, ascii_only, indent):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert json_depth(text) == depth(value)
    assert json_depth(text.encode("utf-8")) == depth(value)


@FUZZ
@given(json_values.map(lambda v: json.dumps([[v]]).encode()).flatmap(mutations))
def test_load_json_agrees_with_json_loads_or_refuses(data):
    try:
        expected = json.loads(data)
    except (ValueError, RecursionError):
        expected = ValueError
    try:
        got = load_json(data)
    except ValueError:
        got = ValueError
    if ValueError in (got, expected):  # refused by both, or by load_json for its nesting only
        assert got is expected or depth(expected) > MAX_JSON_DEPTH
    else:  # compared as text: NaN is not equal to itself
        assert json.dumps(got) == json.dumps(expected)
