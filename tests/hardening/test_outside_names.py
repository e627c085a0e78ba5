"""Names from outside never read or write outside the workspace: every place where a burst
ID, a product or file name, a header value, an upload's name or a packet's source becomes
part of a path, tried with ``../``, absolute paths, NUL bytes and friends."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from analysis.trigger_file import trigger_file_name
from data_access.alerts.trigger_files import QuarantinedPacketError, spool_packet
from data_access.calibration.store import CalibrationStore
from data_access.products.sdb_client import RemoteFile
from data_access.safe_files import safe_file_stem, write_atomic
from sandbox.sdb import SandboxServer
from tests.analysis.test_voevent import make_packet

HOSTILE = [
    "../../escaped",
    "/tmp/escaped-absolute",
    "..",
    ".",
    "",
    "nul\0byte",
    "a/../../escaped",
    "..\\..\\escaped",
    "~root",
    "escaped/" * 30,
    "%2e%2e%2fescaped",
    "x" * 300,
]
IDS = [
    "dotdot",
    "absolute",
    "dots",
    "dot",
    "empty",
    "nul",
    "inner-dotdot",
    "backslash",
    "tilde",
    "deep",
    "encoded",
    "long",
]


def inside(path: Path, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(root).resolve())


def nothing_escaped(root: Path) -> None:
    """No file named after a hostile name anywhere beside ``root`` (inside it is fine)."""
    outside = [p for p in root.parent.rglob("*escaped*") if not inside(p, root)]
    assert not outside and not Path("/tmp/escaped-absolute").exists(), outside


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_safe_file_stem_and_write_atomic_keep_a_name_in_its_folder(tmp_path, name):
    folder = tmp_path / "ws" / "folder"
    path = write_atomic(folder, safe_file_stem(name), b"x")
    assert path.parent == folder and inside(path, folder)
    nothing_escaped(tmp_path / "ws")
    try:  # the raw name too: refused, or written inside the folder (a backslash is a letter)
        raw = write_atomic(folder, name, b"x")
    except (ValueError, OSError):  # outside the folder, a NUL byte, longer than NAME_MAX
        return
    assert raw.parent == folder
    nothing_escaped(tmp_path / "ws")


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_a_burst_id_never_becomes_a_trigger_file_outside_the_triggers_folder(stores, name):
    with pytest.raises(ValueError):
        trigger_file_name(name)
    packet = make_packet(burst_id=name.replace("\0", "").replace("<", "") or "x")
    with pytest.raises(QuarantinedPacketError):
        stores.alerts.store(packet, source="fuzz")
    assert not list(stores.alerts.triggers_dir.iterdir()) or all(
        inside(p, stores.alerts.triggers_dir) for p in stores.alerts.triggers_dir.iterdir()
    )
    nothing_escaped(stores.workspace.root)


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_a_packet_source_never_leaves_the_spool(tmp_path, name):
    (tmp_path / "ws" / "spool").mkdir(parents=True)
    path = spool_packet(
        tmp_path / "ws" / "spool",
        b"<x/>",
        source=name,
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert inside(path, tmp_path / "ws" / "spool")
    nothing_escaped(tmp_path / "ws")


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_a_burst_id_never_leaves_the_products_folder(stores, name):
    products = stores.products
    assert inside(products.burst_dir(name), products.products_dir)
    assert products.burst_dir(name) != products.products_dir


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_header_values_never_leave_the_masters_folder(stores, name):
    """INSTRUME and FILTER come from the frames' headers (regression: ``..`` climbed up)."""
    store: CalibrationStore = stores.calibration
    folder = store.folder("bias", name.replace("\0", ""), name.replace("\0", ""))
    assert inside(folder, store.masters_dir) and folder.parent.parent.parent == store.masters_dir
    nothing_escaped(stores.workspace.root)


@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_a_remote_file_name_never_leaves_the_burst_folder_when_pulled(stores, name):
    """A hostile export API lists a file whose name is a path: the pull keeps it inside."""
    content = b"an image"
    item = RemoteFile(
        "sb26030512", "images", name, len(content), hashlib.sha256(content).hexdigest()
    )

    class HostileServer:
        def download(self, remote):
            return content

    pulled = stores.products.transfers._pull_one("sb26030512", item, HostileServer(), "ana")
    assert inside(pulled.path, stores.products.burst_dir("sb26030512"))
    nothing_escaped(stores.workspace.root)


@pytest.fixture
def sandbox(tmp_path):
    (tmp_path / "secret.txt").write_text("TOP-SECRET")
    try:
        server = SandboxServer(tmp_path / "sdb").start()
    except OSError as exc:
        from tests.conftest import service_unavailable

        service_unavailable(f"the SDB sandbox cannot start: {exc}")
    yield server
    server.close()


@pytest.mark.service
@pytest.mark.parametrize("name", HOSTILE, ids=IDS)
def test_the_sandbox_never_reads_or_writes_outside_its_storage(sandbox, tmp_path, name):
    storage = tmp_path / "sdb"
    safe = name.replace("\0", "%00")
    for url in (
        f"{sandbox.url}/export/v0/images/{safe}/{safe}",
        f"{sandbox.url}/export/v0/products/..%2F..%2F/secret.txt",
        f"{sandbox.url}/export/v0/images/%2e%2e/%2e%2e%2fsecret.txt",
    ):
        answer = requests.get(url, timeout=5)
        assert answer.status_code in (400, 404) and b"TOP-SECRET" not in answer.content
    for field, path in (("spjson", "/import/v0/a_spjson"), ("product", "/import/v0/a_product")):
        answer = requests.post(
            sandbox.url + path, files={field: (safe, b"SIMPLE  =  T")}, timeout=5
        )
        assert answer.status_code == 400
    storage.joinpath("images", "sb1").mkdir(parents=True)
    sandbox.storage.put_file("images", name, name, b"data")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "secret.txt"]
    assert all(inside(p, storage) for p in written), written
