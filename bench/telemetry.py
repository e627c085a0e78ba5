"""Telemetry benchmark: status ingest against DuckDB's bare bulk read, and series queries.

Run ``.venv/bin/python bench/telemetry.py`` (or ``./bench/run.sh telemetry``); add
``--quick`` for a smoke run of a few seconds. It measures, in one run:

1. **Ingest**: one month of 5-minute status files for 300 sensors (8,640 files, about
   2.6 million readings, generated into a temporary folder with a seeded RNG), ingested
   through the real path ``Stores.open(ws).status.ingest(documents_in([folder]))``:
   readings per second and cache bytes per million readings (the ``lake/`` folder after a
   CHECKPOINT), against DuckDB's own ``CREATE TABLE t AS SELECT * FROM read_json(...)``
   of the same files into a fresh database (no validation). Each runs in a child
   process, whose peak memory is reported too. Goal: a ratio of at least 0.66 (the one
   recorded before the cache moved to DuckLake).
2. **Reads during ingest**: this process ingests the month's files after the first day
   while a second process (:func:`phase_reads`) calls ``series`` and ``latest`` on the
   same workspace in a loop; the p50 and p99 of its read times and their count. Goal:
   p99 at most 200 ms.
3. **Series**: ``StatusStore.series([sensor], start, end, 1h)`` for one sensor over the
   ingested month, and over a year (300 sensors x 105,120 readings = 31.5 million,
   written into a second cache directly with SQL, in the order ingest writes them),
   median of several runs after a warm-up. Goals: the year within 50 ms, and
   ``StatusStore.latest(...)``, which the Telemetry page calls, within 30 ms on the year
   lake.

Everything generated is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    Figure,
    machine_description,
    p99,
    peak_rss_bytes,
    print_figures,
    run_child,
    timed_runs,
)

MONTH_START = datetime(2026, 1, 1)
CADENCE = timedelta(minutes=5)
FILES_PER_DAY = 288
SEED = 20260101
INGEST_GOAL_RATIO = 0.66  # ingest no slower, against the bare bulk read, than recorded before
SERIES_GOAL_MS = 50.0  # a year of one sensor
LATEST_GOAL_MS = 30.0  # every sensor's latest reading, on the year lake
READS_GOAL_P99_MS = 200.0  # a second process's reads while ingest runs
STALE_AFTER = timedelta(minutes=15)


# -- the sensors ------------------------------------------------------------------------
@dataclass(frozen=True)
class Sensor:
    """One generated sensor: its static record fields and how its values behave."""

    name: str
    pretty_name: str
    subsystem: str
    component: str
    group: str
    model: str
    type: str  # integer, float, string
    unit: str
    kind: str  # how values are generated (see _values)
    level: float  # typical value
    correction_model: str = ""


# (subsystem, component, group, kind, type, unit, level, model, how many)
_CATALOGUE = [
    ("telescope", "TCS", "mount-temperature", "temperature", "float", "C", 8.0, "PT100", 12),
    ("telescope", "TCS", "motor-current", "current", "float", "A", 1.2, "Phytron", 8),
    ("telescope", "TCS", "axis-position", "angle", "float", "deg", 45.0, "Heidenhain", 6),
    ("telescope", "TCS", "mirror-temperature", "temperature", "float", "C", 7.0, "PT100", 10),
    ("telescope", "TCS", "axis-state", "state", "integer", "", 2.0, "PLC", 6),
    ("telescope", "TCS", "tracking-mode", "mode", "string", "", 0.0, "TCS", 4),
    ("telescope", "PLC", "power-voltage", "voltage", "float", "V", 24.0, "Siemens", 12),
    ("telescope", "PLC", "cabinet-temperature", "temperature", "float", "C", 18.0, "PT100", 8),
    ("telescope", "PLC", "fan-speed", "rpm", "integer", "rpm", 1500.0, "EBM", 8),
    ("dome", "DOME", "shutter-state", "shutter", "string", "", 0.0, "Baader", 2),
    ("dome", "DOME", "azimuth", "angle", "float", "deg", 180.0, "Baader", 2),
    ("dome", "DOME", "inside-temperature", "temperature", "float", "C", 6.0, "PT100", 16),
    ("dome", "DOME", "inside-humidity", "humidity", "float", "%", 35.0, "Vaisala", 8),
    ("dome", "DOME", "motor-current", "current", "float", "A", 0.8, "SEW", 6),
    ("dome", "DOME", "louvre-state", "state", "integer", "", 1.0, "PLC", 8),
    ("weather", "METEO", "air-temperature", "temperature", "float", "C", 5.0, "Vaisala", 6),
    ("weather", "METEO", "humidity", "humidity", "float", "%", 40.0, "Vaisala", 6),
    ("weather", "METEO", "pressure", "pressure", "float", "hPa", 730.0, "Vaisala", 4),
    ("weather", "METEO", "wind-speed", "wind", "float", "m/s", 5.0, "Gill", 6),
    ("weather", "METEO", "wind-direction", "angle", "float", "deg", 250.0, "Gill", 6),
    ("weather", "METEO", "sky-temperature", "temperature", "float", "C", -25.0, "AAG", 4),
    ("weather", "METEO", "rain", "state", "integer", "", 0.0, "AAG", 4),
    ("weather", "METEO", "seeing", "seeing", "float", "arcsec", 1.1, "DIMM", 4),
]
for _camera in ("DDRAGO1", "DDRAGO2", "CAGIRE"):
    _CATALOGUE += [
        ("instrument", _camera, "detector-temperature", "cold", "float", "C", -100.0, "LS", 6),
        ("instrument", _camera, "cryostat-pressure", "vacuum", "float", "mbar", 1e-6, "TPG", 4),
        (
            "instrument",
            _camera,
            "electronics-temperature",
            "temperature",
            "float",
            "C",
            20.0,
            "PT100",
            8,
        ),
        ("instrument", _camera, "power-voltage", "voltage", "float", "V", 12.0, "TDK", 8),
        ("instrument", _camera, "filter-position", "state", "integer", "", 3.0, "FLI", 2),
        ("instrument", _camera, "filter-name", "filter", "string", "", 0.0, "FLI", 2),
        ("instrument", _camera, "shutter-count", "counter", "integer", "", 1e5, "Bonn", 2),
    ]


def make_sensors(count: int) -> list[Sensor]:
    """``count`` sensors cycling through the catalogue: TCS, PLC, dome, weather, cameras."""
    sensors: list[Sensor] = []
    rounds = 0
    while len(sensors) < count:
        for subsystem, component, group, kind, kind_type, unit, level, model, n in _CATALOGUE:
            for index in range(n):
                number = rounds * n + index
                name = f"{component}-{group}-{number}"
                sensors.append(
                    Sensor(
                        name=name,
                        pretty_name=f"{component} {group.replace('-', ' ')} {number}",
                        subsystem=subsystem,
                        component=component,
                        group=group,
                        model=model,
                        type=kind_type,
                        unit=unit,
                        kind=kind,
                        level=level,
                        correction_model="pt100-iec751" if model == "PT100" else "",
                    )
                )
        rounds += 1
    return sensors[:count]


# -- the status files -------------------------------------------------------------------
_STRINGS = {
    "mode": ["TRACKING", "SLEWING", "PARKED", "IDLE"],
    "shutter": ["OPEN", "CLOSED", "OPENING", "CLOSING"],
    "filter": ["g", "r", "i", "z", "J", "H"],
}


def _values(sensor: Sensor, hours: np.ndarray, rng: np.random.Generator) -> list[str]:
    """The sensor's values over time, formatted as the TCS sends them (``"+12.34"``)."""
    night = np.cos(2 * np.pi * (hours % 24 - 3) / 24)  # +1 at 03:00, -1 at 15:00 (local-ish)
    n = hours.size
    k = sensor.kind
    if sensor.type == "string":
        choices = _STRINGS[k]
        steps = rng.integers(0, len(choices), size=n // 24 + 1).repeat(24)[:n]
        return [choices[i] for i in steps]
    if k == "temperature":
        x = sensor.level - 6 * night + rng.normal(0, 0.15, n)
    elif k == "cold":
        x = sensor.level + rng.normal(0, 0.02, n)
    elif k == "humidity":
        x = np.clip(sensor.level + 20 * night + rng.normal(0, 2, n), 2, 100)
    elif k == "pressure":
        x = sensor.level + 2 * np.sin(2 * np.pi * hours / 120) + rng.normal(0, 0.1, n)
    elif k == "wind":
        x = np.abs(sensor.level * (1 + 0.5 * np.sin(2 * np.pi * hours / 37)) + rng.gamma(2, 1, n))
    elif k == "angle":
        x = (sensor.level + 60 * np.sin(2 * np.pi * hours / 5.3) + rng.normal(0, 1, n)) % 360
    elif k == "vacuum":
        return [f"{v:+.3e}" for v in sensor.level * (1 + 0.1 * rng.random(n))]
    elif k == "seeing":
        x = np.clip(sensor.level + rng.gamma(2, 0.15, n), 0.4, None)
    elif k in ("current", "voltage"):
        x = sensor.level * (1 + rng.normal(0, 0.01, n))
    elif k == "state":
        return [
            f"{int(v):+d}"
            for v in rng.integers(0, int(sensor.level) + 2, n // 12 + 1).repeat(12)[:n]
        ]
    elif k == "rpm":
        return [f"{int(v):+d}" for v in sensor.level + rng.integers(-30, 30, n)]
    elif k == "counter":
        return [f"{int(v):+d}" for v in sensor.level + np.cumsum(rng.integers(0, 3, n))]
    else:
        raise ValueError(f"sensor {sensor.name}: unknown kind '{k}'")
    return [f"{v:+.2f}" for v in x]


def _error_codes(n_sensors: int, n_times: int, rng: np.random.Generator) -> np.ndarray:
    """Error codes: about one reading in 2,000 flagged, and one sensor dead for a day."""
    codes = np.zeros((n_sensors, n_times), dtype=np.int64)
    flagged = rng.random((n_sensors, n_times)) < 5e-4
    codes[flagged] = rng.integers(1, 6, flagged.sum())
    dead_start = min(n_times // 2, max(n_times - FILES_PER_DAY, 0))
    codes[n_sensors // 3, dead_start : dead_start + FILES_PER_DAY] = 7  # sensor not answering
    return codes


def write_status_files(folder: Path, sensors: list[Sensor], days: float, seed: int = SEED) -> int:
    """Write 5-minute status files (``status_YYYYmmddTHHMMSS.json``) for ``days`` days.

    Returns
    -------
    int
        The number of readings written (files x sensors).
    """
    rng = np.random.default_rng(seed)
    n_times = int(round(days * FILES_PER_DAY))
    hours = np.arange(n_times) * CADENCE.total_seconds() / 3600
    codes = _error_codes(len(sensors), n_times, rng)
    heads, middles, tails, values, raws = [], [], [], [], []
    for row, sensor in enumerate(sensors):
        text = _values(sensor, hours, rng)
        raw = text
        if sensor.correction_model:  # a PT100: the raw value is its resistance in ohms
            raw = [f"{100 * (1 + 0.003851 * float(v)):+.3f}" for v in text]
        dead = codes[row] == 7
        if dead.any():
            text = ["+0.0" if d else v for v, d in zip(text, dead, strict=True)]
        values.append(text)
        raws.append(raw)
        heads.append(f'{{"name": "{sensor.name}", "value": "')
        middles.append(
            f'", "pretty_name": "{sensor.pretty_name}", "subsystem": "{sensor.subsystem}", '
            f'"component": "{sensor.component}", "group": "{sensor.group}", '
            f'"model": "{sensor.model}", "identifier": "{row}", "firmware": "1.{row % 7}", '
            f'"type": "{sensor.type}", "unit": "{sensor.unit}", '
            f'"correction_model": "{sensor.correction_model}", "raw_value": "'
        )
        tails.append('", "error_code": ')
    code_text = codes.astype(str)
    folder.mkdir(parents=True, exist_ok=True)
    for t in range(n_times):
        moment = MONTH_START + t * CADENCE
        date = moment.strftime("%Y-%m-%dT%H:%M:%S")
        records = [
            f'{heads[s]}{values[s][t]}", "date": "{date}'
            f"{middles[s]}{raws[s][t]}{tails[s]}{code_text[s, t]}}}"
            for s in range(len(sensors))
        ]
        day_folder = folder / moment.strftime("%Y-%m-%d")
        day_folder.mkdir(exist_ok=True)
        (day_folder / f"status_{moment:%Y%m%dT%H%M%S}.json").write_text(
            "[\n" + ",\n".join(records) + "\n]\n", encoding="utf-8"
        )
    return n_times * len(sensors)


# -- the phases, each in a child process ----------------------------------------------
def phase_bulk(folder: Path, database: Path) -> dict:
    """DuckDB's bare bulk read of every file into a fresh database (no validation)."""
    import duckdb

    con = duckdb.connect(str(database))
    started, cpu = time.perf_counter(), _cpu_seconds()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_json(?, format = 'array')", [f"{folder}/*/*.json"]
    )
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.execute("CHECKPOINT")
    con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": rows,
        "bytes": database.stat().st_size,
        "peak_rss": peak_rss_bytes(),
    }


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under ``folder`` (a lake: its catalog and data files)."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def phase_ingest(folder: Path, workspace: Path) -> dict:
    """The real ingest path, as ``gic ingest status FOLDER`` runs it."""
    from data_access.stores import Stores
    from data_access.telemetry.store import documents_in

    stores = Stores.open(workspace)
    started, cpu = time.perf_counter(), _cpu_seconds()
    summary = stores.status.ingest(documents_in([folder]))
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    stores.cache.execute("CHECKPOINT")
    stores.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": summary.readings,
        "ingested": len(summary.ingested),
        "rejected": summary.rejected[:3],
        "bytes": folder_bytes(workspace / "lake"),
        "peak_rss": peak_rss_bytes(),
    }


def phase_reads(workspace: Path, sensor: str) -> dict:
    """Read the workspace in a loop (``series`` of a week of ``sensor``, then ``latest``)
    until this process's stdin closes; every read's time and the errors. Prints ``ready``
    once it has read the workspace a first time."""
    import threading

    from data_access.stores import Stores

    stores = Stores.open(workspace)
    stop = threading.Event()
    times = {"series": [], "latest": []}
    errors: list[str] = []
    week = (MONTH_START, MONTH_START + timedelta(days=7))
    reads = {
        "series": lambda: stores.status.series([sensor], *week, timedelta(hours=1)),
        "latest": lambda: stores.status.latest(stale_after=STALE_AFTER),
    }

    def loop() -> None:
        while not stop.is_set():
            for name, read in reads.items():
                started = time.perf_counter()
                try:
                    read()
                except Exception as exc:  # a failed read is a figure of this benchmark
                    errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                times[name].append(time.perf_counter() - started)

    for read in reads.values():  # warm, then say so: the parent starts ingesting
        read()
    print("ready", flush=True)
    reader = threading.Thread(target=loop, daemon=True)
    reader.start()
    sys.stdin.read()
    stop.set()
    reader.join()
    stores.close()
    return {"times": times, "errors": errors[:5], "error_count": len(errors)}


def measure_reads_during_ingest(tmp: Path, sensors: list[Sensor]) -> list[Figure]:
    """Ingest the generated files after their first day while a second process reads."""
    from data_access.stores import Stores
    from data_access.telemetry.store import documents_in

    days = sorted(p for p in (tmp / "status").iterdir() if p.is_dir())
    sensor = next(s.name for s in sensors[len(sensors) // 2 :] if s.type == "float")
    stores = Stores.open(tmp / "concurrent")
    stores.status.ingest(documents_in(days[:1]))
    reader = subprocess.Popen(
        [sys.executable, __file__, "--phase", "reads", str(tmp / "concurrent"), sensor],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reader.stdout.readline()  # "ready": it has opened the workspace and read it once
    started = time.perf_counter()
    summary = stores.status.ingest(documents_in(days[1:] or days[:1]))
    seconds = time.perf_counter() - started
    stores.close()
    stdout, stderr = reader.communicate("")
    if reader.returncode != 0:
        raise RuntimeError(f"the reading process exited with {reader.returncode}:\n{stderr}")
    result = json.loads(stdout.strip().splitlines()[-1])
    every = [t * 1000 for times in result["times"].values() for t in times]
    print(
        f"  reads during ingest: {len(every)} reads while {summary.readings:,} readings went "
        f"in over {seconds:.1f} s, {result['error_count']} errors {result['errors'][:1]}",
        flush=True,
    )
    if not every:
        return [Figure("reads during ingest: errors", result["error_count"], "errors")]
    return [
        Figure("reads during ingest p50", statistics.median(every), "ms"),
        Figure(
            f"reads during ingest p99 ({len(every)} samples)",
            p99(every),
            "ms",
            READS_GOAL_P99_MS,
            "goal",
            1.0,
        ),
        Figure("reads during ingest: errors", result["error_count"], "errors"),
    ]


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process so far, every thread (DuckDB's) included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_phase(phase: str, folder: Path, target: Path) -> dict:
    """Run one phase in a fresh child process (its own peak memory in ``peak_rss``)."""
    result = run_child(
        [sys.executable, __file__, "--phase", phase, str(folder), str(target)]
    ).json()
    print(
        f"  {phase}: {result['rows']:,} rows in {result['seconds']:.2f} s "
        f"({result['cpu_seconds']:.2f} s CPU), load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return result


def _median_run(runs: list[dict]) -> dict:
    """The run of median duration (the last one for the sizes: they do not vary)."""
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


# -- the year cache ---------------------------------------------------------------------
def fill_year_cache(stores, sensors: list[Sensor], days: int, batch_files: int) -> int:
    """Write ``days`` days of 5-minute readings of every sensor straight into the cache.

    Rows go in the order ingest writes them: batch after batch of ``batch_files``
    files, each batch ordered by sensor_id then time, and each sensor's latest reading
    beside it, as the ingest keeps it. Returns the number of readings.
    """
    from data_access.schema import SENSOR_LAST_READINGS

    n_times = days * FILES_PER_DAY
    n_sensors = len(sensors)
    meta = [
        (
            i + 1,
            s.name,
            s.pretty_name,
            s.subsystem,
            s.component,
            s.group,
            s.model,
            str(i),
            f"1.{i % 7}",
            s.type,
            s.unit,
            s.correction_model,
        )
        for i, s in enumerate(sensors)
    ]
    strings = [i + 1 for i, s in enumerate(sensors) if s.type == "string"]
    # Row i: batch b = i // (sensors x batch); inside it sensor-major, time-minor.
    per_batch = n_sensors * batch_files
    with stores.cache.transaction() as con:
        con.executemany(
            "INSERT INTO sensor (sensor_id, name, pretty_name, subsystem, component, "
            '"group", model, identifier, firmware, type, unit, correction_model) '
            f"VALUES ({', '.join('?' * 12)})",
            meta,
        )
        con.execute(
            """INSERT INTO status_document
            SELECT t + 1, 'files', 'year/status_' || t || '.json', 120000, t,
                   md5(t::VARCHAR), $n, $start::TIMESTAMP + to_microseconds(t * 300000000)
            FROM range($times) r(t)""",
            {"n": n_sensors, "times": n_times, "start": MONTH_START},
        )
        con.execute(
            """INSERT INTO status_reading
            WITH rows AS (
                SELECT i // $per_batch AS b, i % $per_batch AS k,
                       least($batch, $times - (i // $per_batch) * $batch) AS files, i
                FROM range($total) r(i)),
            placed AS (
                SELECT CAST(k // files + 1 AS INTEGER) AS sensor_id, b * $batch + k % files AS t, i
                FROM rows)
            SELECT sensor_id,
                   $start::TIMESTAMP + to_microseconds(t * 300000000) AS ts,
                   CASE WHEN NOT list_contains($strings, sensor_id) THEN
                       round(10 + 5 * sin(2 * pi() * t / 288) + (hash(i) % 1000) / 500.0, 2) END,
                   CASE WHEN list_contains($strings, sensor_id) THEN 'TRACKING' END,
                   NULL, 0, CAST(t + 1 AS INTEGER)
            FROM placed""",
            {
                "per_batch": per_batch,
                "batch": batch_files,
                "times": n_times,
                "total": n_times * n_sensors,
                "start": MONTH_START,
                "strings": strings,
            },
        )
        con.execute(SENSOR_LAST_READINGS.format(where="true"))  # as the ingest keeps them
    stores.cache.execute("CHECKPOINT")
    return n_times * n_sensors


# -- the measurements -------------------------------------------------------------------
def median_ms(call, repeats: int) -> float:
    """Median wall time of ``call`` over ``repeats`` runs after one warm-up, in ms."""
    return statistics.median(timed_runs(call, repeats=repeats, warmup=1)) * 1000


def measure_ingest(
    tmp: Path, sensors: list[Sensor], days: float, rounds: int
) -> tuple[list[Figure], dict]:
    """Generate the files, then time the bulk read and the real ingest, each in a fresh
    child process and a fresh database, alternately ``rounds`` times; keep the medians."""
    folder = tmp / "status"
    started = time.perf_counter()
    readings = write_status_files(folder, sensors, days)
    n_files = sum(1 for _ in folder.rglob("*.json"))
    size = sum(p.stat().st_size for p in folder.rglob("*.json"))
    print(
        f"generated {n_files:,} files, {readings:,} readings, {size / 2**20:,.0f} MiB "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    bulks, ingests = [], []
    for round_ in range(rounds):
        for phase, runs in (("bulk", bulks), ("ingest", ingests)):
            target = tmp / f"{phase}-{round_}"
            runs.append(
                run_phase(
                    phase, folder, target.with_suffix(".duckdb") if phase == "bulk" else target
                )
            )
            if round_ < rounds - 1:  # keep the last ingest: the series queries read it
                shutil.rmtree(target, ignore_errors=True)
                target.with_suffix(".duckdb").unlink(missing_ok=True)
    (tmp / f"ingest-{rounds - 1}").rename(tmp / "month")
    bulk, ingest = _median_run(bulks), _median_run(ingests)
    if ingest["rejected"]:
        raise RuntimeError(f"generated files rejected: {ingest['rejected']}")
    if ingest["rows"] != readings or bulk["rows"] != readings:
        raise RuntimeError(
            f"expected {readings} readings, ingest {ingest['rows']}, bulk {bulk['rows']}"
        )
    mreadings = readings / 1e6
    figures = [
        Figure(
            "ingest rate",
            readings / ingest["seconds"],
            "readings/s",
            readings / bulk["seconds"],
            "DuckDB read_json",
            INGEST_GOAL_RATIO,
            True,
        ),
        Figure("ingest time", ingest["seconds"], "s", bulk["seconds"], "DuckDB read_json"),
        Figure(
            "ingest CPU time (load-proof)",
            ingest["cpu_seconds"],
            "s",
            bulk["cpu_seconds"],
            "DuckDB read_json",
            1 / INGEST_GOAL_RATIO,
        ),
        Figure(
            "cache size",
            ingest["bytes"] / mreadings,
            "bytes/Mreading",
            bulk["bytes"] / mreadings,
            "read_json table",
        ),
        Figure(
            "ingest peak memory",
            ingest["peak_rss"] / 2**20,
            "MiB",
            bulk["peak_rss"] / 2**20,
            "read_json process",
        ),
    ]
    facts = {
        "files": n_files,
        "readings": readings,
        "json_bytes": size,
        "rounds": rounds,
        "bulk_seconds": [r["seconds"] for r in bulks],
        "ingest_seconds": [r["seconds"] for r in ingests],
        "bulk_cpu_seconds": [r["cpu_seconds"] for r in bulks],
        "ingest_cpu_seconds": [r["cpu_seconds"] for r in ingests],
    }
    return figures, facts


def measure_series(tmp: Path, sensors: list[Sensor], days: float, year_days: int, repeats: int):
    """Series over the ingested month, then series and latest over a generated year."""
    from data_access.stores import Stores

    sensor = next(s.name for s in sensors[len(sensors) // 2 :] if s.type == "float")
    hour = timedelta(hours=1)
    month_end = MONTH_START + timedelta(days=days)
    with_month = Stores.open(tmp / "month")
    with_month.cache.keep_reads(False)  # the queries themselves (a kept read is timed apart)
    month_ms = median_ms(
        lambda: with_month.status.series([sensor], MONTH_START, month_end, hour), repeats
    )
    buckets = len(with_month.status.series([sensor], MONTH_START, month_end, hour))
    with_month.close()

    year = Stores.open(tmp / "year")
    year.cache.keep_reads(False)
    started = time.perf_counter()
    n = fill_year_cache(year, sensors, year_days, year.workspace.config.telemetry.batch_files)
    fill_s = time.perf_counter() - started
    year_bytes = folder_bytes(tmp / "year" / "lake")
    print(
        f"year cache: {n:,} readings written in {fill_s:.1f} s, {year_bytes / 2**20:,.0f} MiB",
        flush=True,
    )
    year_end = MONTH_START + timedelta(days=year_days)
    last_month = year_end - timedelta(days=min(30, year_days))
    status = year.status
    year_ms = median_ms(lambda: status.series([sensor], MONTH_START, year_end, hour), repeats)
    recent_ms = median_ms(lambda: status.series([sensor], last_month, year_end, hour), repeats)
    latest_ms = median_ms(lambda: status.latest(stale_after=STALE_AFTER, now=year_end), repeats)
    year_buckets = len(status.series([sensor], MONTH_START, year_end, hour))
    year.cache.keep_reads(True)  # as a page refresh asks again before the next commit
    latest_kept_ms = median_ms(
        lambda: status.latest(stale_after=STALE_AFTER, now=year_end), repeats
    )
    year.close()
    figures = [
        Figure(
            f"series 1 sensor, {days:g} d, 1h ({buckets} buckets)",
            month_ms,
            "ms",
            SERIES_GOAL_MS,
            "goal",
            1.0,
        ),
        Figure(
            f"series 1 sensor, {year_days} d, 1h ({year_buckets} buckets)",
            year_ms,
            "ms",
            SERIES_GOAL_MS,
            "goal",
            1.0,
        ),
        Figure(
            f"series 1 sensor, last {(year_end - last_month).days} d of {year_days} d",
            recent_ms,
            "ms",
            SERIES_GOAL_MS,
            "goal",
            1.0,
        ),
        Figure(
            f"latest, {len(sensors)} sensors, {year_days} d cache",
            latest_ms,
            "ms",
            LATEST_GOAL_MS,
            "goal",
            1.0,
        ),
        Figure("latest again, no commit since (a kept read)", latest_kept_ms, "ms"),
        Figure(f"{year_days} d cache size", year_bytes / (n / 1e6), "bytes/Mreading"),
    ]
    return figures, {"sensor": sensor, "year_readings": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 days of files and a 7-day 'year' (under a minute)",
    )
    parser.add_argument("--sensors", type=int, default=300, help="sensors (default 300)")
    parser.add_argument(
        "--days", type=float, default=None, help="days of status files (default 30)"
    )
    parser.add_argument(
        "--year-days", type=int, default=None, help="days of the year cache (default 365)"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed runs per query (default 7)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="bulk-read and ingest runs, alternated; the median is kept (default 3)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--phase", nargs=3, metavar=("PHASE", "FOLDER", "TARGET"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.phase:
        phase, folder, target = args.phase
        if phase == "reads":
            print(json.dumps(phase_reads(Path(folder), target)))
            return 0
        result = {"bulk": phase_bulk, "ingest": phase_ingest}[phase](Path(folder), Path(target))
        print(json.dumps(result))
        return 0
    days = args.days or (2 if args.quick else 30)
    year_days = args.year_days or (7 if args.quick else 365)
    repeats = args.repeats or (3 if args.quick else 7)
    rounds = args.rounds or (1 if args.quick else 3)
    print(f"telemetry benchmark on {machine_description()}", flush=True)
    print(
        f"{args.sensors} sensors, {days:g} days of files, {year_days} days in the year cache",
        flush=True,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gic-bench-telemetry-") as folder:
        tmp = Path(folder)
        sensors = make_sensors(args.sensors)
        ingest_figures, facts = measure_ingest(tmp, sensors, days, rounds)
        ingest_figures += measure_reads_during_ingest(tmp, sensors)
        series_figures, more = measure_series(tmp, sensors, days, year_days, repeats)
    figures = ingest_figures + series_figures
    print_figures(
        "telemetry" + (" (--quick: smoke run, not the benchmark)" if args.quick else ""), figures
    )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine_description(),
                    "days": days,
                    "year_days": year_days,
                    **facts,
                    **more,
                    "figures": [f.to_dict() for f in figures],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
