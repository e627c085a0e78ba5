"""NATS operations messages, fuzzed through the store: any subject and body is recorded
(a malformed one with its error, never raised), and read back as the text it was."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from analysis.operations import read_operations_message
from tests.hardening._fuzz import FUZZ, mutations

GOOD = json.dumps({"kind": "burst", "burst_id": "sb26021102", "text": "new burst"}).encode()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
bodies = st.one_of(
    mutations(GOOD), st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())
)


@FUZZ
@given(subject=st.text(max_size=40), data=bodies)
def test_any_message_is_read_with_or_without_an_error(subject, data):
    message = read_operations_message(subject, data)
    assert message.subject == subject
    assert message.error is None or message.error
    assert message.burst_id is None or isinstance(message.burst_id, str)


@FUZZ
@given(subject=st.text(max_size=40), data=bodies)
def test_any_message_is_recorded_and_shown_as_text(stores, subject, data):
    before = stores.cache.execute("SELECT count(*) FROM operations_message")[0][0]
    message = stores.alerts.record_operations_message(subject, data)
    feed = stores.alerts.operations_messages(limit=1)
    assert stores.cache.execute("SELECT count(*) FROM operations_message")[0][0] == before + 1
    assert feed.iloc[0]["subject"] == subject and feed.iloc[0]["text"] == message.text
