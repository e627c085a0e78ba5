import pytest

from analysis.operations import read_operations_message


def test_json_message_names_its_burst_and_kind():
    message = read_operations_message(
        "svom.fsc.products", b'{"type": "product", "Burst_Id": "sb26021102"}'
    )
    assert (message.kind, message.burst_id, message.error) == ("product", "sb26021102", None)
    assert message.payload == {"type": "product", "Burst_Id": "sb26021102"}


def test_plain_text_message_finds_a_burst_id():
    message = read_operations_message("svom.fsc", b"new burst sb26030303 announced")
    assert message.burst_id == "sb26030303" and message.payload is None and message.error is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"\xff\xfe{", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"  ", "empty"),
        (b"[1, 2]", "expected a JSON object"),
    ],
)
def test_malformed_messages_come_back_with_an_error(data, error):
    message = read_operations_message("svom.fsc", data)
    assert error in message.error
    assert message.subject == "svom.fsc"
