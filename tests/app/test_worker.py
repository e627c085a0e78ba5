"""One process of a workspace runs its background work: the turn, `gic worker`, the
server's election and the alert sources started again when they stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.server import _background
from app.worker import ALERT_SOURCES, SourceSupervisor, Worker
from data_access.background import BackgroundTurn, KeptProcess
from data_access.stores import Stores

HOLD_TURN = textwrap.dedent(
    """
    import sys, time
    from data_access.background import BackgroundTurn
    turn = BackgroundTurn(sys.argv[1])
    assert turn.take()
    print("held", flush=True)
    time.sleep(600)
    """
)


def _hold_turn_elsewhere(root: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_TURN, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


def _gic(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--workspace", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_one_process_holds_the_turn_until_it_dies(tmp_path):
    holder = _hold_turn_elsewhere(tmp_path)
    turn = BackgroundTurn(tmp_path)
    try:
        assert not turn.take()
        assert f"pid {holder.pid} on " in turn.holder()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert turn.take()  # the system released the killed process's lock
    assert f"pid {os.getpid()} on " in turn.holder()
    turn.release()
    assert turn.holder() == ""


def test_gic_worker_refuses_while_another_process_has_the_turn(tmp_path):
    holder = _hold_turn_elsewhere(tmp_path)
    try:
        result = _gic(tmp_path, "worker")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode != 0
    assert "background work" in result.stderr and f"pid {holder.pid}" in result.stderr


def test_gic_worker_runs_until_terminated_and_gives_the_turn_back(tmp_path):
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "--workspace", str(tmp_path), "worker"],
        stderr=subprocess.PIPE,
        text=True,
    )
    turn = BackgroundTurn(tmp_path)
    try:
        for line in worker.stderr:  # the log says when the work started
            if "background work of" in line:
                break
        assert not turn.take()
    finally:
        for _ in range(300):  # its server, the server's end, a process group: SIGTERMs
            if worker.poll() is not None:
                break
            worker.terminate()
            time.sleep(0.001)
        # it ends (a SIGTERM that comes once it has stopped its work may end it itself)
        assert worker.wait(timeout=60) in (0, -signal.SIGTERM)
    assert turn.take()
    turn.release()


def test_a_server_takes_the_work_over_when_the_worker_stops(tmp_path):
    stores = Stores.open(tmp_path)
    holder = _hold_turn_elsewhere(tmp_path)
    worker = _background(stores, "auto")  # the server's own `gic worker --wait`
    turn = BackgroundTurn(tmp_path)
    try:
        assert isinstance(worker, KeptProcess)
        log = tmp_path / "logs" / "worker.log"
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 60
        while "background work of" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the server's worker did not take the work over"
            time.sleep(0.2)
        assert not turn.take()  # held by the worker process
    finally:
        worker.stop(timeout_s=30)
        stores.close()
    assert turn.take()
    turn.release()
    assert _background(stores, "never") is None


def test_an_unknown_alert_source_is_refused_naming_the_setting(tmp_path):
    (tmp_path / "gic.toml").write_text('[worker]\nalert_sources = ["comet", "pigeon"]\n')
    stores = Stores.open(tmp_path)
    try:
        with pytest.raises(ValueError, match=r"worker.alert_sources: unknown 'pigeon'"):
            Worker(stores)
    finally:
        stores.close()


def test_an_alert_source_that_stops_is_started_again(tmp_path):
    (tmp_path / "gic.toml").write_text("[worker]\nrestart_after_s = 0.01\n")
    stores = Stores.open(tmp_path)
    marks = tmp_path / "marks"
    supervisor = SourceSupervisor(stores, "nats")
    supervisor.command = lambda: [sys.executable, "-c", f"open({str(marks)!r}, 'a').write('x')"]
    try:
        supervisor.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(marks.read_text() if marks.exists() else "") < 3:
            time.sleep(0.05)
    finally:
        supervisor.stop()
        supervisor.join(timeout=30)
        stores.close()
    assert len(marks.read_text()) >= 3


def test_every_alert_source_is_a_gic_command():
    from app.cli import build_parser

    parser = build_parser()
    for args in ALERT_SOURCES.values():
        assert parser.parse_args(list(args)).handler is not None
