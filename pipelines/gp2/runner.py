"""GP2 runs on Dask: a burst's images through the pipeline's modules, in parallel.

One image's steps form a chain of tasks (read → reduction → cosmics → findstars →
alignment → photometry → subtraction), the images of a burst run side by side, and
the summary gathers them (the transient located across the burst, then measured in
each image). The tasks run on a ``dask.distributed`` client: a LocalCluster by
default, the scheduler of ``[gp2] scheduler_address`` for a real cluster; without a
client they run one after the other in this process. Every function is
deterministic, so the results are the same whichever runs them.

Use::

    plan = RunPlan.from_pipeline(read_pipeline_config("config/svom"))
    with open_client(workspace.config.gp2) as client:
        result = run_burst(paths, plan, output=Path("out"), client=client, progress=bar)
    result.light_curve          # the photometry CSV's table

A failed image is reported in ``result.failures`` (file, step, reason); the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table, vstack
from astropy.time import Time
from astropy.wcs.utils import proj_plane_pixel_scales

from analysis.afterglow import JointDecayFit
from analysis.gp2 import (
    PHOTOMETRY_COLUMNS,
    fit_decay,
    light_curve_table,
    locate_transient,
    measure_transient,
)
from analysis.gp2.alignment import celestial_wcs
from analysis.gp2.stacking import exposure_times
from analysis.gp2.summary import detection_position_error, position_scatter
from data_access.config import Gp2Config
from data_access.gp2.config import (
    STEPS,
)
from data_access.gp2.files import (
    ImageInfo,
    output_folder,
    scan_images,
    write_photometry,
    write_table,
)
from data_access.gp2.records import HeaderKeywords, ImageResult, RunPlan, RunResult
from data_access.safe_files import write_atomic
from pipelines.gp2 import steps
from pipelines.gp2.steps import ImageInputs, ImageState, StepContext

log = logging.getLogger("gic.gp2")

Progress = Callable[[int, int], None]

#: Master resolver: (caltype, instrument, filter) -> path of the master in force, or None.
MasterResolver = Callable[[str, str, str], "Path | None"]


#: How often a run waiting for its tasks looks at its stop event, s.
STOP_POLL_S = 0.2


class RunStopped(RuntimeError):
    """A run stopped on request (its ``stop`` event set) before it finished."""


_PER_IMAGE = ("reduction", "cosmics", "findstars", "alignment")
_AFTER_STACK = ("photometry", "subtraction")


def step_context(plan: RunPlan, keep_images: bool) -> StepContext:
    """The settings every step of ``plan`` reads, and which of its outputs it keeps."""
    return StepContext(
        settings={s: plan.settings_for(s) for s in STEPS},
        explicit=frozenset(plan.steps),
        keep_images=keep_images,
        keywords=plan.keywords,
        instrumental=plan.instrumental,
    )


# -- execution ----------------------------------------------------------------------------
@contextlib.contextmanager
def open_client(
    config: Gp2Config | None = None, *, n_workers: int | None = None, processes: bool | None = None
) -> Iterator:
    """A ``dask.distributed`` client: to ``scheduler_address`` if set, else a LocalCluster.

    Parameters
    ----------
    config : Gp2Config, optional
        ``[gp2]`` of gic.toml (defaults: 2 single-thread workers in this process).
    n_workers, processes : optional
        Override the config's LocalCluster shape.
    """
    from distributed import Client, LocalCluster

    config = config or Gp2Config()
    if config.scheduler_address:
        client = Client(config.scheduler_address, timeout="20s")
        try:
            yield client
        finally:
            client.close()
        return
    use_processes = config.processes if processes is None else processes
    cluster = LocalCluster(
        n_workers=n_workers or config.n_workers,
        threads_per_worker=config.threads_per_worker,
        processes=use_processes,
        memory_limit=config.memory_limit if use_processes else 0,
        dashboard_address=":0",
        silence_logs=logging.WARNING,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


class _Done:
    """A value computed at once (the in-process executor's future)."""

    def __init__(self, value) -> None:
        self.value = value


class _Executor:
    """Submits tasks to a dask client, or runs them at once in this process (client None);
    once ``stop`` is set, submits nothing more, cancels what was submitted and raises
    :class:`RunStopped`."""

    def __init__(
        self, client, progress: Progress | None, total: int, stop: threading.Event | None = None
    ) -> None:
        self.client, self.progress, self.total, self.stop = client, progress, total, stop
        self.done = 0
        self._lock = threading.Lock()

    def _tick(self, _future=None) -> None:
        with self._lock:  # dask calls back from its own thread
            self.done += 1
            done = min(self.done, self.total)
        if self.progress is not None:
            self.progress(done, self.total)

    def _check(self, futures=()) -> None:
        if self.stop is not None and self.stop.is_set():
            if self.client is not None and futures:
                self.client.cancel(list(futures))
            raise RunStopped(f"stopped on request after {self.done} of {self.total} tasks")

    def submit(self, function, *args):
        self._check()
        if self.client is None:
            value = function(
                *[
                    a.value
                    if isinstance(a, _Done)
                    else [x.value if isinstance(x, _Done) else x for x in a]
                    if isinstance(a, list)
                    else a
                    for a in args
                ]
            )
            self._tick()
            return _Done(value)
        # only the futures a later task or the caller needs are held, so that a worker
        # frees each intermediate state as soon as the next step has consumed it
        future = self.client.submit(function, *args, pure=False)
        future.add_done_callback(self._tick)
        return future

    def gather(self, futures: list) -> list:
        self._check(futures)
        if self.client is None:
            return [f.value for f in futures]
        while self.stop is not None and not all(f.done() for f in futures):
            self.stop.wait(STOP_POLL_S)
            self._check(futures)
        return self.client.gather(futures)


# -- planning -----------------------------------------------------------------------------
def _fill(template: str, info: ImageInfo) -> str | None:
    if not template:
        return None
    return template.replace("{FILTER}", info.filter).replace("{INSTRUME}", info.instrument)


def resolve_inputs(info: ImageInfo, plan: RunPlan, masters: MasterResolver | None) -> ImageInputs:
    """One image's masters, reference and catalogue: the config's files, else those in force."""
    reduction = plan.settings_for("reduction")
    later = plan.settings_for("subtraction")
    found = {}
    for caltype in ("bias", "dark", "flat"):
        path = _fill(getattr(reduction, caltype), info)
        if path is None and masters is not None:
            in_force = masters(caltype, info.instrument, info.filter)
            path = str(in_force) if in_force else None
        found[caltype] = path
    return ImageInputs(
        **found,
        reference=_fill(later.reference, info),
        catalog=_fill(later.catalog or plan.settings_for("photometry").catalog, info),
    )


def masters_from_store(store) -> MasterResolver:
    """A master resolver over a :class:`~data_access.calibration.store.CalibrationStore`."""
    free = tuple(store.config.filter_free_types)

    def resolve(caltype: str, instrument: str, filter_: str) -> Path | None:
        return store.in_force(caltype, instrument, "NONE" if caltype in free else filter_)

    return resolve


def _summary_dir(output: Path, info: ImageInfo, headers: tuple[str, ...]) -> Path:
    return (
        output_folder(output, info.header, headers[:1], source=str(info.path))
        if headers
        else output
    )


def _stack_groups(names: list[str], infos: dict, size: int) -> list[list[str]]:
    groups = defaultdict(list)
    for name in names:
        info = infos[name]
        groups[(info.instrument, info.filter)].append(name)
    out = []
    for members in groups.values():
        out += [members[k : k + size] for k in range(0, len(members), max(1, size))]
    return out


# -- tasks of the summary ----------------------------------------------------------------
def _candidate_positions(state: ImageState) -> tuple[np.ndarray, np.ndarray]:
    if state.error is not None or state.candidates is None or "ra" not in state.candidates.colnames:
        return np.zeros(0), np.zeros(0)
    return np.asarray(state.candidates["ra"], float), np.asarray(state.candidates["dec"], float)


def _times(state: ImageState, keywords: HeaderKeywords) -> tuple[str, str, float]:
    start, end = exposure_times(
        state.header, exptime_key=keywords.exptime, date_key=keywords.date_obs
    )
    return start.isot, end.isot, float(state.header[keywords.exptime])


def measure(
    state: ImageState, context: StepContext, ra: float, dec: float, scatter: float = math.nan
) -> dict | None:
    """The transient's photometry row of one image (None for a failed image); ``scatter`` is
    that of the transient's candidates about (ra, dec), arcsec (its ``pos_err`` with the
    image's alignment residual)."""
    if state.error is not None or state.difference is None:
        return None
    p = context.parameters("summary")
    t_start, t_end, exptime = _times(state, context.keywords)
    row = {
        "image_id": state.name,
        "filter": context.keywords.text(state.header, "filter"),
        "t_start": t_start,
        "t_end": t_end,
        "exptime": exptime,
        "limit_mag": state.limit,
        "ra": ra,
        "dec": dec,
    }
    wcs = celestial_wcs(state.header)
    if not (math.isfinite(ra) and wcs is not None):
        return {**row, "mag": state.limit, "mag_err": 0.0, "detected": 0}
    x, y = (float(v) for v in wcs.world_to_pixel_values(ra, dec))
    zp = state.diff_zp or state.zp
    measured = measure_transient(
        state.difference.data,
        x,
        y,
        radius=p.aperture * state.difference.fwhm,
        rms=state.difference.rms,
        zp=zp.value,
        zp_err=zp.error,
        limit=state.limit,
        mask=state.difference.mask,
        detect_snr=p.detect_snr,
    )
    residual = state.alignment.residual if state.alignment is not None else math.nan
    scale = float(np.mean(proj_plane_pixel_scales(wcs))) * 3600.0
    return {
        **row,
        "mag": measured.mag,
        "mag_err": measured.mag_err,
        "detected": int(measured.detected),
        "pos_err": (
            detection_position_error(scatter, residual, scale) if measured.detected else math.nan
        ),
    }


def image_result(state: ImageState, context: StepContext) -> ImageResult:
    """The page's view of one image's state."""
    keywords, keep_images = context.keywords, context.keep_images
    try:
        t_start, t_end, exptime = (
            _times(state, keywords) if state.header is not None else ("", "", math.nan)
        )
    except (ValueError, KeyError):
        t_start, t_end, exptime = "", "", math.nan
    zp = state.diff_zp or state.zp
    return ImageResult(
        name=state.name,
        path=state.path,
        header=state.header,
        filter=keywords.text(state.header, "filter") if state.header is not None else "",
        t_start=t_start,
        t_end=t_end,
        exptime=exptime,
        fwhm=state.fwhm,
        zp=zp.value if zp else math.nan,
        zp_err=zp.error if zp else math.nan,
        limit_mag=state.limit,
        sources=state.sources,
        candidates=state.candidates,
        reduced=state.reduced if keep_images else None,
        difference=state.difference.data if keep_images and state.difference is not None else None,
        outputs=dict(state.outputs),
        log=state.log,
        error=state.error,
    )


def start(path: str, name: str, out_dir: str) -> ImageState:
    """Read a frame; a frame that cannot be read is a failed state, not an exception."""
    return steps.guarded(
        "read",
        lambda state: steps.load(path, name, out_dir),
        ImageState(name=name, path=path, out_dir=out_dir),
    )


# -- the run ------------------------------------------------------------------------------
def run_burst(
    paths: Sequence[Path | str],
    plan: RunPlan,
    *,
    output: Path | str,
    client=None,
    progress: Progress | None = None,
    masters: MasterResolver | None = None,
    keep_images: bool = False,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run the plan's modules over frames; write each module's outputs under ``output``.

    Parameters
    ----------
    paths : sequence of path
        FITS files or folders of them.
    plan : RunPlan
    output : path
        Output root: ``output/<header values>/<module folder>/`` (pipeline) or
        ``output/<module folder>/`` (module), the summary CSVs at the burst folder.
    client : distributed.Client, optional
        Where the tasks run (None: in this process, one after the other).
    progress : callable, optional
        ``progress(done, total)`` after each task.
    masters : callable, optional
        Master resolver for images whose config names no master (see :func:`masters_from_store`).
    keep_images : bool, optional
        Keep reduced and difference arrays in the results (for a page).
    stop : threading.Event, optional
        Set to stop the run: nothing more is submitted, the submitted tasks are cancelled.

    Returns
    -------
    RunResult
    """
    output = Path(output)
    infos_list, unreadable = scan_images(list(paths), keywords=plan.keywords)
    failures = list(unreadable)
    infos, out_dirs, summary_dirs = {}, {}, {}
    for info in infos_list:
        try:
            out_dirs[info.name] = output_folder(
                output, info.header, plan.headers, source=str(info.path)
            )
            summary_dirs[info.name] = _summary_dir(output, info, plan.headers)
        except ValueError as exc:
            failures.append((str(info.path), str(exc)))
            continue
        infos[info.name] = info
    inputs = {name: resolve_inputs(info, plan, masters) for name, info in infos.items()}
    for name, reason in _uncalibrated(plan, inputs).items():
        failures.append((str(infos[name].path), f"{infos[name].path}: {reason}"))
        del infos[name]
    chain = plan.chain()
    context = step_context(plan, keep_images)
    names = list(infos)
    stacking = "stacking" in chain and plan.settings_for("stacking").parameters.stack_size > 1
    groups = (
        _stack_groups(names, infos, plan.settings_for("stacking").parameters.stack_size)
        if stacking
        else []
    )
    n_final = len(groups) if stacking else len(names)
    after = [s for s in _AFTER_STACK if s in chain]
    total = (
        len(names) * (1 + sum(s in chain for s in _PER_IMAGE))
        + len(groups)
        + n_final * (len(after) + 2 + (2 if "summary" in chain else 0))
    )
    executor = _Executor(client, progress, max(total, 1), stop)
    # depth-first: each image's whole chain is submitted before the next image's, so that a
    # worker finishes (and frees) one frame before it reads another
    futures, anchors = {}, {}
    for name in names:
        futures[name] = executor.submit(start, str(infos[name].path), name, str(out_dirs[name]))
        for step in (s for s in _PER_IMAGE if s in chain):
            futures[name] = _submit_step(
                executor,
                step,
                futures[name],
                context,
                inputs[name],
                anchors,
                (out_dirs[name], infos[name].instrument, infos[name].filter),
            )
        if not stacking:
            futures[name] = _finish_chain(
                executor,
                futures[name],
                after,
                context,
                inputs[name],
                keep_images or "summary" in chain,
            )
    if stacking:
        stacked = {}
        for members in groups:
            name = f"{members[0]}_stack{len(members):02d}"
            future = executor.submit(steps.stacking, [futures[m] for m in members], context, name)
            inputs[name], infos[name] = inputs[members[0]], infos[members[0]]
            summary_dirs[name] = summary_dirs[members[0]]
            stacked[name] = _finish_chain(
                executor, future, after, context, inputs[name], keep_images or "summary" in chain
            )
        futures = stacked
    rows, transients = {}, {}
    if "summary" in chain:
        rows, transients = _summary(executor, futures, plan, context, summary_dirs)
    results = executor.gather([executor.submit(image_result, futures[n], context) for n in futures])
    failures += [(r.path, r.error) for r in results if r.error]
    for name, reason in failures:
        log.warning("left out: %s: %s", name, reason)
    return _finish(plan, results, rows, transients, failures, summary_dirs, context)


def _uncalibrated(plan: RunPlan, inputs: dict) -> dict[str, str]:
    """The images photometry has no catalogue to calibrate, and why each is refused: the
    summary or subtraction needs their zero points; photometry asked for by name needs them
    unless instrumental magnitudes are asked for."""
    chain = plan.chain()
    needed_by = next((s for s in ("summary", "subtraction") if s in chain), None)
    if needed_by is None and ("photometry" not in plan.steps or plan.instrumental):
        return {}
    reason = steps.no_catalogue(needed_by)
    return {name: reason for name, found in inputs.items() if not found.catalog}


def _submit_step(executor, step, future, context, inputs, anchors, group):
    if step == "alignment":
        anchor = anchors.setdefault(group, future)
        return executor.submit(
            steps.guarded, step, steps.alignment, future, context, inputs, anchor
        )
    if step == "reduction":
        return executor.submit(steps.guarded, step, steps.reduction, future, context, inputs)
    return executor.submit(steps.guarded, step, getattr(steps, step), future, context)


def _finish_chain(executor, future, after, context, inputs, keep_difference):
    for step in after:
        future = executor.submit(steps.guarded, step, getattr(steps, step), future, context, inputs)
    return executor.submit(steps.slim, future, context.keep_images, keep_difference)


def _summary(
    executor: _Executor, futures: dict, plan: RunPlan, context: StepContext, summary_dirs: dict
):
    names = list(futures)
    positions = executor.gather([executor.submit(_candidate_positions, futures[n]) for n in names])
    p = context.parameters("summary")
    target = (
        (p.target_ra, p.target_dec)
        if p.target_ra is not None and p.target_dec is not None
        else None
    )
    by_burst = defaultdict(list)
    for name, where in zip(names, positions, strict=True):
        by_burst[summary_dirs[name]].append(where)
    transients, scatters = {}, {}
    for folder, lists in by_burst.items():
        found = locate_transient(
            lists, target=target, radius_arcsec=p.match_radius, search_arcsec=p.search_radius
        )
        transients[folder] = found if found else ((target[0], target[1], 0) if target else None)
        scatters[folder] = (
            position_scatter(lists, found[0], found[1], radius_arcsec=p.match_radius)
            if found
            else math.nan
        )
    measured = []
    for name in names:
        folder = summary_dirs[name]
        where = transients[folder]
        ra, dec = (where[0], where[1]) if where else (math.nan, math.nan)
        measured.append(executor.submit(measure, futures[name], context, ra, dec, scatters[folder]))
    rows = dict(zip(names, executor.gather(measured), strict=True))
    return rows, transients


def _candidates_table(
    results: list[ImageResult], transients: dict, summary_dirs: dict, radius: float
) -> Table:
    tables = []
    for r in results:
        if r.candidates is None or len(r.candidates) == 0:
            continue
        t = r.candidates.copy()
        t.add_column([r.name] * len(t), name="image_id", index=0)
        t.add_column([r.filter] * len(t), name="filter", index=1)
        where = transients.get(summary_dirs.get(r.name))
        if where and "ra" in t.colnames:
            separation = (
                np.hypot((t["ra"] - where[0]) * np.cos(np.radians(where[1])), t["dec"] - where[1])
                * 3600
            )
            t["transient"] = np.asarray(separation < radius)
        else:
            t["transient"] = np.zeros(len(t), bool)
        tables.append(t)
    if not tables:
        return Table(
            names=(
                "image_id",
                "filter",
                "x",
                "y",
                "flux",
                "peak",
                "snr",
                "npix",
                "ra",
                "dec",
                "transient",
            ),
            dtype=(str, str, float, float, float, float, float, int, float, float, bool),
        )
    return vstack(tables, metadata_conflicts="silent")


def _finish(plan, results, rows, transients, failures, summary_dirs, context) -> RunResult:
    radius = context.parameters("summary").match_radius
    candidates = _candidates_table(results, transients, summary_dirs, radius)
    files = {}
    by_burst = defaultdict(list)
    for name, row in rows.items():
        if row is not None:
            by_burst[summary_dirs[name]].append(row)
    light_curves = []
    for folder, burst_rows in by_burst.items():
        table = light_curve_table(burst_rows)
        light_curves.append(table)
        files[str(folder)] = {
            "photometry": str(write_photometry(Path(folder) / "photometry.csv", table))
        }
        names = {row["image_id"] for row in burst_rows}
        files[str(folder)]["candidates"] = str(
            write_table(
                Path(folder) / "candidates.csv",
                candidates[[n in names for n in candidates["image_id"]]],
            )
        )
        _write_log(Path(folder) / "gp2.log", results, failures)
    light_curve = vstack(light_curves) if light_curves else light_curve_table([])
    transient = next(iter(transients.values()), None) if transients else None
    return RunResult(
        images=results,
        light_curve=light_curve,
        candidates=candidates,
        transient=transient,
        decay=_decay(light_curve, plan.t0),
        failures=failures,
        summary_files=files,
    )


def _decay(light_curve: Table, t0: str) -> JointDecayFit | None:
    if not t0 or len(light_curve) == 0:
        return None
    detected = light_curve[light_curve["detected"] == 1]
    trigger = Time(t0, format="isot", scale="utc")
    starts = np.array([(Time(t, scale="utc") - trigger).sec for t in detected["t_start"]])
    ends = np.array([(Time(t, scale="utc") - trigger).sec for t in detected["t_end"]])
    try:
        return fit_decay(
            starts, ends, detected["mag"], detected["mag_err"], list(detected["filter"])
        )
    except ValueError as exc:
        log.info("no decay fit: %s", exc)
        return None


def _write_log(path: Path, results: list[ImageResult], failures: list) -> None:
    lines = []
    for r in results:
        lines += [f"{r.name}: {line}" for line in r.log]
    lines += [f"FAILED {name}: {reason}" for name, reason in failures]
    write_atomic(path.parent, path.name, ("\n".join(lines) + "\n").encode("utf-8"))


def image_times(paths: Sequence[Path | str], *, keywords: HeaderKeywords | None = None) -> Table:
    """Start and end of every frame's exposure (the telemetry rendezvous input).

    ``keywords`` are the header keywords read (default: ``[gp2]``'s defaults).

    Returns
    -------
    astropy.table.Table
        ``image_id``, ``path``, ``instrument``, ``filter``, ``t_start``, ``t_end`` (ISO UTC),
        ``exptime`` (s), time-ordered; unreadable files are left out.
    """
    infos, _ = scan_images(list(paths), keywords=keywords)
    return Table(
        rows=[
            (i.name, str(i.path), i.instrument, i.filter, i.t_start, i.t_end, i.exptime)
            for i in infos
        ],
        names=("image_id", "path", "instrument", "filter", "t_start", "t_end", "exptime"),
        dtype=(str, str, str, str, str, str, float),
    )


__all__ = [
    "PHOTOMETRY_COLUMNS",
    "HeaderKeywords",
    "ImageResult",
    "MasterResolver",
    "RunPlan",
    "RunResult",
    "image_times",
    "masters_from_store",
    "open_client",
    "resolve_inputs",
    "run_burst",
]
