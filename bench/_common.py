"""What every benchmark of ``bench/`` shares: the figure table, the machine, child processes.

A benchmark measures figures (a rate, a size, a latency) and prints each beside its
baseline (a figure measured in the same run with a plain tool, or the goal itself)
and the ratio between them, so that one glance says whether the goal is met::

    from bench._common import Figure, print_figures

    print_figures("telemetry", [
        Figure("ingest", 410_000, "readings/s", baseline=700_000,
               baseline_name="DuckDB read_json", goal_ratio=0.5, higher_is_better=True),
    ])

Benchmarks run as scripts (``.venv/bin/python bench/NAME.py``), so they import this
module with ``sys.path`` set to ``bench/``'s parent (see :func:`add_repository_to_path`).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def add_repository_to_path() -> None:
    """Make ``app``, ``analysis``, ``data_access`` and ``bench`` importable from a bench script."""
    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))


@dataclass(frozen=True)
class Figure:
    """One measured figure, its baseline and the goal it is held to.

    Parameters
    ----------
    name : str
        What was measured, in a few words.
    value : float
        The figure, in ``unit``.
    unit : str
        Its unit (``readings/s``, ``ms``, ``bytes/Mreading``...).
    baseline : float or None, optional
        The figure it is compared with, in the same unit (None: no comparison).
    baseline_name : str, optional
        What the baseline is (``DuckDB read_json``, ``goal``...).
    goal_ratio : float or None, optional
        The goal as a bound on ``value / baseline``: at least this when
        ``higher_is_better``, at most this otherwise (None: no goal).
    higher_is_better : bool, optional
        Whether a larger value is the better one (rates) or a smaller (times, sizes).
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    goal_ratio: float | None = None
    higher_is_better: bool = False

    @property
    def ratio(self) -> float | None:
        """``value / baseline``, or None without a baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def goal_met(self) -> bool | None:
        """Whether the ratio meets the goal, or None when there is no goal."""
        if self.goal_ratio is None or self.ratio is None:
            return None
        if self.higher_is_better:
            return self.ratio >= self.goal_ratio
        return self.ratio <= self.goal_ratio

    def goal_text(self) -> str:
        """The goal in words: ``ratio >= 0.5: met``, or an empty string."""
        if self.goal_ratio is None:
            return ""
        sign = ">=" if self.higher_is_better else "<="
        verdict = {True: "met", False: "MISSED", None: "?"}[self.goal_met]
        return f"ratio {sign} {self.goal_ratio:g}: {verdict}"

    def to_dict(self) -> dict:
        """The figure with its ratio and verdict, for a JSON summary."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "goal_ratio": self.goal_ratio,
            "goal_met": self.goal_met,
        }


def format_number(value: float | None) -> str:
    """A figure with about four significant digits and thousands separators."""
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def print_figures(title: str, figures: Sequence[Figure], *, out=sys.stdout) -> None:
    """Print figures as an aligned table: figure, value, baseline, ratio and goal."""
    header = ("figure", "value", "unit", "baseline", "baseline is", "ratio", "goal")
    rows = [
        (
            f.name,
            format_number(f.value),
            f.unit,
            format_number(f.baseline),
            f.baseline_name or "-",
            "-" if f.ratio is None else f"{f.ratio:.3g}",
            f.goal_text() or "-",
        )
        for f in figures
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    numeric = {1, 3, 5}
    print(f"\n== {title} ==", file=out)
    for row in [header, *rows]:
        cells = [
            str(cell).rjust(width) if i in numeric else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
    out.flush()


def machine_description() -> str:
    """nproc, memory, Python and DuckDB versions, in one line for a results file."""
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        import duckdb

        duckdb_version = duckdb.__version__
    except ImportError:
        duckdb_version = "absent"
    return (
        f"{os.cpu_count()} cores, {memory_gib:.1f} GiB, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}, DuckDB {duckdb_version}"
    )


@dataclass(frozen=True)
class ChildRun:
    """What a child process did: its output, wall time (s) and peak resident memory (bytes)."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int

    def json(self) -> dict:
        """The last line of the child's stdout, read as JSON (how a bench phase reports)."""
        lines = self.stdout.strip().splitlines()
        if self.returncode != 0 or not lines:
            raise RuntimeError(
                f"benchmark child process exited with {self.returncode}:\n{self.stderr[-4000:]}"
            )
        return json.loads(lines[-1])


def run_child(command: Sequence[str], *, env: dict[str, str] | None = None) -> ChildRun:
    """Run a command to its end and measure its wall time and peak memory.

    Peak memory is the child's high-water resident set size (``VmHWM`` of
    ``/proc/PID/status``, sampled every 20 ms, so a peak in the last 20 ms of its life
    may be missed). ``ru_maxrss`` is not used on Linux: a child started from a large
    parent inherits the parent's figure across ``exec``. A child that can should
    report its own :func:`peak_rss_bytes` at its end, which is exact.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments (no shell).
    env : dict, optional
        The environment (default: this process's).
    """
    started = time.perf_counter()
    child = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    peak = [0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_peak, args=(child.pid, peak, done), daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return ChildRun(child.returncode, stdout, stderr, seconds, peak[0])


def _sample_peak(pid: int, peak: list[int], done: threading.Event) -> None:
    """Keep ``peak[0]`` at the largest VmHWM seen for ``pid`` until ``done`` is set."""
    status = Path(f"/proc/{pid}/status")
    while not done.is_set():
        try:
            peak[0] = max(peak[0], _vm_hwm_bytes(status.read_text()))
        except (OSError, ValueError):
            return  # the process has ended, or this system has no /proc
        done.wait(0.02)


def _vm_hwm_bytes(status_text: str) -> int:
    """The VmHWM line of a /proc status file, in bytes (0 when absent)."""
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _maxrss_bytes(maxrss: int) -> int:
    """ru_maxrss in bytes (kilobytes on Linux, bytes on macOS)."""
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def peak_rss_bytes() -> int:
    """This process's own peak resident memory since it started (or since its ``exec``), bytes."""
    status = Path("/proc/self/status")
    if status.exists():
        return _vm_hwm_bytes(status.read_text())
    return _maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def p99(values: Sequence[float]) -> float:
    """The 99th percentile of ``values`` (the nearest rank; the largest of under 100)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def timed_runs(call: Callable[[], object], *, repeats: int, warmup: int = 1) -> list[float]:
    """Wall times of ``repeats`` calls (s) after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times
