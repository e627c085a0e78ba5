"""Demo telemetry: realistic 5-minute status files for the TCS, dome, weather station and
the three cameras, written in the CDB's format and ingested through the real ingest path.

San Pedro Mártir is at UTC-7; temperatures follow a day and night cycle, the cameras'
detectors sit at their set points with small noise (CAGIRE at 100 K), one sensor is dead
for a day (no readings) and a few readings carry error codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

CADENCE = timedelta(minutes=5)
SPM_UTC_OFFSET_H = -7.0

#: The sensor that stops reporting for one day of the demo.
DEAD_SENSOR = "weather-station-ws1-wind-speed"


@dataclass(frozen=True)
class DemoSensor:
    subsystem: str
    component: str
    group: str
    quantity: str
    unit: str
    kind: str  # a generator name of _generate
    type: str = "float"
    level: float = 0.0
    scale: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.subsystem}-{self.component}-{self.group}-{self.quantity}".lower()

    @property
    def pretty_name(self) -> str:
        return f"{self.component} {self.group} {self.quantity}".replace("-", " ")


def demo_sensors(count: int = 210) -> list[DemoSensor]:
    """At least ``count`` sensors spread over the subsystems, in a stable order."""
    sensors = [
        DemoSensor(
            "weather", "station-ws1", "air", "temperature", "C", "diurnal", level=6, scale=6
        ),
        DemoSensor(
            "weather", "station-ws1", "air", "humidity", "%", "humidity", level=40, scale=25
        ),
        DemoSensor("weather", "station-ws1", "air", "pressure", "hPa", "slow", level=730, scale=3),
        DemoSensor("weather", "station-ws1", "air", "dew-point", "C", "diurnal", level=-8, scale=3),
        DemoSensor("weather", "station-ws1", "wind", "speed", "m/s", "wind", level=5, scale=4),
        DemoSensor(
            "weather", "station-ws1", "wind", "direction", "deg", "direction", level=250, scale=60
        ),
        DemoSensor(
            "weather", "station-ws1", "sky", "cloud-cover", "%", "humidity", level=10, scale=20
        ),
        DemoSensor("weather", "station-ws1", "sky", "rain", "", "rain", type="string"),
        DemoSensor("dome", "shutter", "state", "position", "", "shutter", type="string"),
        DemoSensor("dome", "azimuth", "axis", "position", "deg", "direction", level=180, scale=90),
        DemoSensor("tcs", "mount", "state", "tracking", "", "tracking", type="integer"),
        DemoSensor("tcs", "mount", "alt-axis", "position", "deg", "altitude", level=50, scale=25),
        DemoSensor("tcs", "mount", "az-axis", "position", "deg", "direction", level=180, scale=100),
    ]
    for camera, setpoint in (("ddrago1", -90.0), ("ddrago2", -90.0), ("cagire", -173.15)):
        sensors += [
            DemoSensor(
                "instrument",
                camera,
                "detector",
                "temperature",
                "C",
                "setpoint",
                level=setpoint,
                scale=0.05,
            ),
            DemoSensor(
                "instrument",
                camera,
                "cryostat",
                "pressure",
                "mbar",
                "vacuum",
                level=2e-6,
                scale=5e-7,
            ),
            DemoSensor("instrument", camera, "cooler", "power", "W", "diurnal", level=60, scale=4),
            DemoSensor("instrument", camera, "readout", "frames", "", "counter", type="integer"),
        ]
    groups = [
        ("dome", "enclosure"),
        ("tcs", "mount"),
        ("tcs", "m1"),
        ("tcs", "m2"),
        ("instrument", "ddrago1"),
        ("instrument", "ddrago2"),
        ("instrument", "cagire"),
    ]
    index = 0
    while len(sensors) < count:
        subsystem, component = groups[index % len(groups)]
        number = index // len(groups)
        sensors.append(
            DemoSensor(
                subsystem,
                component,
                "thermal",
                f"probe-{number:02d}",
                "C",
                "diurnal",
                level=4 + number % 7,
                scale=2 + number % 3,
            )
        )
        index += 1
    return sensors


def _generate(
    sensor: DemoSensor, hours_local: np.ndarray, days: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The sensor's values at the given local hours (and elapsed days), as floats."""
    n = hours_local.size
    noise = rng.normal(0.0, 1.0, n)
    cycle = np.cos(2 * np.pi * (hours_local - 15.0) / 24.0)  # warmest at 15 h local
    night = (hours_local >= 19.5) | (hours_local <= 5.5)
    match sensor.kind:
        case "diurnal":
            return sensor.level + sensor.scale * cycle + 0.1 * sensor.scale * noise + 0.05 * days
        case "humidity":
            return np.clip(sensor.level - sensor.scale * cycle + 5 * noise, 0, 100)
        case "slow":
            return sensor.level + sensor.scale * np.sin(2 * np.pi * days / 9.0) + 0.2 * noise
        case "wind":
            return np.abs(sensor.level + sensor.scale * np.sin(days * 1.3) + 1.5 * noise)
        case "direction":
            return np.mod(sensor.level + sensor.scale * np.sin(days * 5.1) + 10 * noise, 360)
        case "altitude":
            return np.where(night, sensor.level + sensor.scale * np.sin(hours_local), 90.0)
        case "setpoint":
            return sensor.level + sensor.scale * noise
        case "vacuum":
            return sensor.level + sensor.scale * np.abs(noise) + 1e-8 * days
        case "tracking":
            return night.astype(float)
        case "counter":
            return np.cumsum(night * 1.0)
        case _:
            return night.astype(float)


def _text_values(sensor: DemoSensor, values: np.ndarray, hours_local: np.ndarray) -> list[str]:
    if sensor.kind == "shutter":
        night = (hours_local >= 19.5) | (hours_local <= 5.5)
        return ["open" if is_night else "closed" for is_night in night]
    if sensor.kind == "rain":
        return ["dry"] * len(values)
    if sensor.type == "integer":
        return [str(int(v)) for v in values]
    return [f"{v:+.6g}" for v in values]


def write_status_files(
    folder: Path,
    start: datetime,
    days: float,
    *,
    sensor_count: int = 210,
    seed: int = 1,
    dead_day: int | None = 12,
) -> list[Path]:
    """Write one status file per 5 minutes from ``start`` for ``days`` days.

    Parameters
    ----------
    folder : Path
        Where the files go (created), named ``status_YYYYmmddTHHMMSS.json``.
    start : datetime
        UTC time of the first file.
    days : float
        Length of the series, in days.
    sensor_count : int, optional
        At least this many sensors (see :func:`demo_sensors`).
    seed : int, optional
        Seed of the random generator, for a reproducible demo.
    dead_day : int or None, optional
        Day (from ``start``) during which :data:`DEAD_SENSOR` sends nothing.

    Returns
    -------
    list of Path
        The files written, in time order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = int(days * 86400 / CADENCE.total_seconds())
    elapsed_h = np.arange(n) * CADENCE.total_seconds() / 3600.0
    hours_local = np.mod(start.hour + start.minute / 60 + elapsed_h + SPM_UTC_OFFSET_H, 24)
    days_elapsed = elapsed_h / 24.0
    sensors = demo_sensors(sensor_count)
    columns = []
    for sensor in sensors:
        values = _generate(sensor, hours_local, days_elapsed, rng)
        errors = np.where(rng.random(n) < 0.002, rng.choice([1, 2, 17], n), 0)
        columns.append((sensor, _text_values(sensor, values, hours_local), errors))
    paths = []
    for i in range(n):
        moment = start + i * CADENCE
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S")
        records = [
            {
                "name": sensor.name,
                "value": text[i],
                "date": stamp,
                "pretty_name": sensor.pretty_name,
                "subsystem": sensor.subsystem,
                "component": sensor.component,
                "group": sensor.group,
                "model": "demo",
                "identifier": str(k),
                "firmware": "1.0",
                "type": sensor.type,
                "unit": sensor.unit,
                "correction_model": "",
                "raw_value": text[i],
                "error_code": int(errors[i]),
            }
            for k, (sensor, text, errors) in enumerate(columns)
            if not (
                sensor.name == DEAD_SENSOR
                and dead_day is not None
                and int(days_elapsed[i]) == dead_day
            )
        ]
        path = folder / f"status_{moment:%Y%m%dT%H%M%S}.json"
        path.write_text(json.dumps(records, separators=(",", ":")))
        paths.append(path)
    return paths
