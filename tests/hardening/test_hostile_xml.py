"""XML external entities, entity expansion ("billion laughs") and XInclude, through every
path a packet takes (parser, store, the Comet handler's receive_packet): refused quickly,
and the content of a local file never reaches the cache, the workspace or the log."""

from __future__ import annotations

import logging
import time

import pytest

from analysis.voevent import HostileVOEventError, parse_voevent
from data_access.alerts.receive import receive_packet
from data_access.alerts.trigger_files import QuarantinedPacketError
from tests.analysis.test_voevent import make_packet

SECRET = "TOP-SECRET-7f3a9c"
BODY = make_packet().decode().split("?>", 1)[1]  # the packet without its XML declaration


def _with_doctype(doctype: str, entity_use: str) -> bytes:
    body = BODY.replace(
        '<Param name="Instrument" value="ECLAIRs"/>',
        f'<Param name="Instrument" value="ECLAIRs"/><Description>{entity_use}</Description>',
    )
    return f'<?xml version="1.0"?>\n{doctype}\n{body}'.encode()


def hostile_packets(secret_file) -> dict[str, bytes]:
    laughs = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" if i > 1 else "&lol;"}'
        + (f"{'&lol' + str(i - 1) + ';' if i > 1 else '&lol;'}" * 9)
        + '">'
        for i in range(1, 10)
    )
    return {
        "xxe-system": _with_doctype(
            f'<!DOCTYPE voe:VOEvent [<!ENTITY xxe SYSTEM "file://{secret_file}">]>', "&xxe;"
        ),
        "xxe-parameter": _with_doctype(
            f'<!DOCTYPE voe:VOEvent [<!ENTITY % p SYSTEM "file://{secret_file}"> %p;]>', ""
        ),
        "external-dtd": _with_doctype(f'<!DOCTYPE voe:VOEvent SYSTEM "file://{secret_file}">', ""),
        "billion-laughs": _with_doctype(f"<!DOCTYPE voe:VOEvent [{laughs}]>", "&lol9;"),
        "quadratic-blowup": _with_doctype(
            f'<!DOCTYPE voe:VOEvent [<!ENTITY a "{"x" * 50_000}">]>', "&a;" * 5_000
        ),
    }


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.mark.parametrize(
    "name", ["xxe-system", "xxe-parameter", "external-dtd", "billion-laughs", "quadratic-blowup"]
)
def test_hostile_packets_are_refused_quickly(secret_file, name):
    packet = hostile_packets(secret_file)[name]
    started = time.monotonic()
    with pytest.raises(HostileVOEventError) as refused:
        parse_voevent(packet)
    assert time.monotonic() - started < 0.5
    assert SECRET not in str(refused.value)


def test_xinclude_is_never_processed(secret_file):
    packet = BODY.replace(
        "<Who>",
        f'<Who><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://{secret_file}" parse="text"/>',
    )
    record = parse_voevent(f'<?xml version="1.0"?>{packet}'.encode())
    assert SECRET not in repr(record)


def test_no_local_file_content_reaches_the_cache_the_workspace_or_the_log(
    stores, workspace, secret_file, caplog
):
    caplog.set_level(logging.DEBUG)
    for packet in hostile_packets(secret_file).values():
        with pytest.raises(QuarantinedPacketError):
            stores.alerts.store(packet, source="fuzz")
    stores.close()
    for packet in hostile_packets(secret_file).values():
        with pytest.raises(QuarantinedPacketError):
            receive_packet(workspace, packet, source="comet")
    assert SECRET not in caplog.text
    for path in workspace.root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
