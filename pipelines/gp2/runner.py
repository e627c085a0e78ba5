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

import dataclasses
import logging
import math
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.gp2 import PHOTOMETRY_COLUMNS, locate_transient
from analysis.gp2.summary import position_scatter
from data_access.gp2.files import output_folder, scan_images
from data_access.gp2.records import HeaderKeywords, ImageResult, RunPlan, RunResult
from pipelines.gp2 import steps
from pipelines.gp2.planning import (
    MasterResolver,
    _stack_groups,
    _summary_dir,
    _uncalibrated,
    resolve_inputs,
    step_context,
)
from pipelines.gp2.steps import ImageState, StepContext
from pipelines.gp2.summary import _candidate_positions, _finish, image_result, measure

log = logging.getLogger("gic.gp2")

Progress = Callable[[int, int], None]


#: How often a run waiting for its tasks looks at its stop event, s.
STOP_POLL_S = 0.2


class RunStopped(RuntimeError):
    """A run stopped on request (its ``stop`` event set) before it finished."""


_PER_IMAGE = ("reduction", "cosmics", "findstars", "alignment")
_AFTER_STACK = ("photometry", "subtraction")


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
    result = _finish(plan, results, rows, transients, failures, summary_dirs, context)
    return dataclasses.replace(result, inputs=_frame_inputs(names, infos, inputs))


def _frame_inputs(names: list[str], infos: dict, inputs: dict) -> dict:
    """Per frame: its instrument, filter and the files it was processed with (the masters a
    run used, which :meth:`~data_access.gp2.runs.ReprocessStore.save` keeps)."""
    return {
        name: {
            "instrument": infos[name].instrument,
            "filter": infos[name].filter,
            **dataclasses.asdict(inputs[name]),
        }
        for name in names
    }


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


__all__ = [
    "PHOTOMETRY_COLUMNS",
    "HeaderKeywords",
    "ImageResult",
    "RunPlan",
    "RunResult",
    "run_burst",
]
