"""The Reprocess page's runs, which combine the science and the stores: the masters in
force the night of a folder's frames, the telemetry at each exposure, a reprocessing run
from its plan to its folder, and a run saved as a product version.

Use::

    telemetry_at(stores.status, images)           # the readings at each exposure
    masters_at(stores.calibration, images)        # the masters in force that night
    run = reprocess(store, frames, plan, run_id, folder, source=..., burst_id=..., user=...)
    save_as_product(run, stores.products, alert_burst(stores.alerts, run.meta["burst_id"]),
                    user="ana")

The Dask client the page runs on is opened once per process by :class:`SharedClient`.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.time import Time

from analysis.products import Burst
from data_access.calibration.impact import MasterImpact, record_product_run
from data_access.calibration.store import CalibrationStore
from data_access.config import Gp2Config
from data_access.gp2.records import RunPlan
from data_access.gp2.run_folder import StoredRun
from data_access.gp2.runs import ReprocessError, ReprocessStore
from data_access.products.files import read_photometry_file
from data_access.telemetry.store import StatusStore
from pipelines.gp2.cluster import open_client
from pipelines.gp2.planning import masters_from_store
from pipelines.gp2.runner import RunStopped, run_burst

#: Telemetry shown beside each image: column → sensor (``{camera}``: its INSTRUME, lower case).
TELEMETRY_SENSORS = {
    "detector temperature (C)": "instrument-{camera}-detector-temperature",
    "humidity (%)": "weather-station-ws1-air-humidity",
    "wind (m/s)": "weather-station-ws1-wind-speed",
    "dome": "dome-shutter-state-position",
}
#: Farthest a reading may be from the middle of an exposure to be shown beside it.
TELEMETRY_WITHIN = timedelta(minutes=30)


# -- the frames of a folder ------------------------------------------------------------
def telemetry_at(status: StatusStore, images: pd.DataFrame) -> pd.DataFrame:
    """The readings nearest to the middle of each exposure (:data:`TELEMETRY_SENSORS`).

    One query finds every reading (the store's ASOF join of every sensor with every moment);
    each image then takes its camera's sensors from that grid by position.

    Returns
    -------
    DataFrame
        image, t_mid (UTC), then one column per entry of :data:`TELEMETRY_SENSORS`
        (the value as text, '' when no reading lies within :data:`TELEMETRY_WITHIN`).
    """
    table = pd.DataFrame({"image": images["name"], "t_mid": images["t_mid"]})
    cameras = images["instrument"].astype(str).str.lower()
    sensors = {
        column: np.array([template.format(camera=camera) for camera in cameras], object)
        for column, template in TELEMETRY_SENSORS.items()
    }
    timed = images["t_mid"].notna().to_numpy()
    names = sorted({name for column in sensors.values() for name in column})
    moments = [t.to_pydatetime() for t in images.loc[timed, "t_mid"]]
    grid = _reading_grid(status, names, moments)
    for column, sensor in sensors.items():
        values = np.full(len(images), "", dtype=object)
        values[timed] = grid[np.arange(len(moments)), pd.Index(names).get_indexer(sensor[timed])]
        table[column] = values
    return table


def _reading_grid(status: StatusStore, names: list[str], moments: list) -> np.ndarray:
    """The readings' values as text, one row per moment and one column per name."""
    if not moments:
        return np.empty((0, len(names)), dtype=object)
    readings = status.nearest(names, moments, within=TELEMETRY_WITHIN)
    text = readings["value"].map(lambda v: "" if v is None or pd.isna(v) else str(v))
    return text.to_numpy(dtype=object).reshape(len(moments), len(names))


def masters_at(calibration: CalibrationStore, images: pd.DataFrame) -> pd.DataFrame:
    """The masters in force the night of the images, per instrument and filter: the newest
    master of each type made on or before that night (not rejected), and the one in force now.

    Returns
    -------
    DataFrame
        instrument, filter, caltype, night (of the images), master (file), master_night,
        status, in_force_now (file name, '' when none).
    """
    free = set(calibration.config.filter_free_types)
    masters = calibration.masters()
    rows = []
    kinds = images[["instrument", "filter"]].drop_duplicates()
    for instrument, filter_ in kinds.itertuples(index=False):
        when = images.loc[
            (images["instrument"] == instrument) & (images["filter"] == filter_), "t_mid"
        ].dropna()
        night = calibration.night_of(when.min().to_pydatetime()) if len(when) else None
        for caltype in ("bias", "dark", "flat"):
            kind_filter = "NONE" if caltype in free else filter_
            chosen = masters[
                (masters["caltype"] == caltype)
                & (masters["instrument"] == instrument)
                & (masters["filter"] == kind_filter)
                & ~masters["status"].isin(["rejected", "candidate"])
            ]
            if night is not None:
                chosen = chosen[pd.to_datetime(chosen["night"]).dt.date <= night]
            best = chosen.sort_values("night").iloc[-1] if len(chosen) else None
            now = calibration.in_force(caltype, instrument, kind_filter)
            rows.append(
                {
                    "instrument": instrument,
                    "filter": filter_,
                    "caltype": caltype,
                    "night": night,
                    "master": "" if best is None else Path(best["path"]).name,
                    "master_night": None if best is None else best["night"],
                    "status": "none on or before that night" if best is None else best["status"],
                    "in_force_now": now.name if now else "",
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "instrument",
            "filter",
            "caltype",
            "night",
            "master",
            "master_night",
            "status",
            "in_force_now",
        ],
    )


# -- a run ----------------------------------------------------------------------------------
def reprocess(
    store: ReprocessStore,
    frames: Sequence[str],
    plan: RunPlan,
    run_id: str,
    folder: Path,
    *,
    source: str,
    burst_id: str,
    user: str,
    calibration: CalibrationStore | None = None,
    client=None,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    quality=None,
) -> StoredRun:
    """Run ``plan`` over ``frames`` into the run folder (made by ``store.new_run``), with the
    masters in force now when ``calibration`` is given (the masters it used recorded in the
    cache: :class:`~data_access.calibration.impact.MasterImpact`), and keep the run there; with a
    ``quality`` recorder (:class:`pipelines.frame_quality.QualityRecorder`), record the
    image quality of the frames it processed.

    Raises
    ------
    RunStopped
        When ``stop`` is set before the run finishes; the run is then recorded as stopped
        (:meth:`ReprocessStore.record_stopped`).
    """
    started = datetime.now(UTC)
    masters = masters_from_store(calibration) if calibration is not None else None
    try:
        result = run_burst(
            list(frames),
            plan,
            output=folder / "output",
            client=client,
            progress=progress,
            masters=masters,
            keep_images=True,
            stop=stop,
        )
    except RunStopped:
        store.record_stopped(
            run_id, plan, source=source, burst_id=burst_id, user=user, started=started
        )
        raise
    saved = store.save(
        run_id, plan, result, source=source, burst_id=burst_id, user=user, started=started
    )
    if quality is not None:
        quality.record_run(result, keywords=plan.keywords, run_id=run_id)
    if calibration is not None:  # where each master went
        impact = MasterImpact(calibration.cache, calibration.files)
        impact.record_run(run_id, burst_id, saved.meta["masters"])
    return saved


# -- products -------------------------------------------------------------------------------
def alert_burst(alerts, burst_id: str) -> Burst | None:
    """The burst as its alerts give it (T0, the position of the smallest error), or None."""
    frame = alerts.alerts(include_tests=True)
    frame = frame[(frame["burst_id"] == burst_id)].dropna(subset=["t0", "ra", "dec"])
    if frame.empty:
        return None
    best = frame.sort_values("error_deg", na_position="last").iloc[0]
    error = 0.0 if pd.isna(best["error_deg"]) else float(best["error_deg"])
    t0 = Time(pd.Timestamp(best["t0"]).to_pydatetime(), scale="utc")
    return Burst(burst_id, t0, float(best["ra"]) % 360.0, float(best["dec"]), error)


def save_as_product(
    run: StoredRun,
    products,
    burst: Burst,
    *,
    user: str,
    fit_window_s: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Build the run's photometry into the burst's products: a new version (MY_VERS + 1) of
    each product whose content changed, left in the review queue; each product (new or
    unchanged) is noted as built from the run. ``fit_window_s`` (start,
    end in s after T0) overrides the configured window of the decay fits.

    Raises
    ------
    ReprocessError
        If the run made no photometry (its steps did not include the summary).
    """
    if not run.photometry_path.is_file():
        raise ReprocessError(
            f"run {run.run_id} has no photometry.csv: run it with the summary step to save it "
            "as a product"
        )
    photometry = read_photometry_file(run.photometry_path)
    steps = ", ".join(run.meta["steps"])
    built = products.build(
        burst,
        photometry,
        user=user,
        comment=f"GP2 reprocessing run {run.run_id} ({steps})",
        fit_window_s=fit_window_s,
    )
    record_product_run(products.cache, run.run_id, built["product_id"])
    return built


# -- the client -----------------------------------------------------------------------------
class SharedClient:
    """One Dask client for the whole process, opened on first use and closed at exit.

    ``SharedClient.get(config)`` returns it (``open_client(config)``: a LocalCluster of
    threads when ``processes`` is false, so it stays light).
    """

    _lock = threading.Lock()
    _stack: contextlib.ExitStack | None = None
    _client = None

    @classmethod
    def get(cls, config: Gp2Config):
        with cls._lock:
            if cls._client is None or cls._client.status not in ("running", "connecting"):
                stack = contextlib.ExitStack()
                cls._client = stack.enter_context(open_client(config))
                cls._stack = stack
                atexit.register(cls.close)
            return cls._client

    @classmethod
    def close(cls) -> None:
        with cls._lock:
            stack, cls._stack, cls._client = cls._stack, None, None
        if stack is not None:
            stack.close()
