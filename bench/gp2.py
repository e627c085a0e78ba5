"""Benchmark: the eight GP2 steps over a generated burst, sequential and on Dask workers.

Writes a generated burst (:func:`analysis.gp2.simulate.simulate_burst`: raw frames with
cosmic rays, masters, a reference image per filter, the field's catalogue) to a temporary
folder, then runs the whole pipeline, reduction → cosmics → findstars → alignment →
stacking (pairs of frames) → photometry → subtraction → summary, each contender in its
own child process:

- ``plain sequential`` (the baseline): :func:`pipelines.gp2.runner.run_burst` without a
  client, one task after the other in one process, with the same libraries and library
  calls an expert would make: sep for detection, astroscrappy's plain ``detect_cosmics``
  on the whole frame for every iteration (``whole_frame=True``), OpenMP held to one thread
  (``OMP_NUM_THREADS=1``: on two shared cores astroscrappy's two OpenMP threads cost 1.6×
  the CPU of one for no gain in wall time), the median stack by ``np.nanmedian``;
- ``gic 1 worker`` / ``gic 2 workers``: the workbench's run on a dask LocalCluster of 1
  and 2 single-thread worker *processes* (dask sets one OpenMP thread there), cosmic rays
  found with L.A.Cosmic's later iterations near the first one's hits only (the same
  result, see :mod:`analysis.gp2.cosmics`), the median stack NaN-aware only where a
  pixel is masked (the same values); their light curves must be identical to each
  other (separate processes); whether they equal the baseline's is printed too. Peak
  memory per worker is each worker's own high-water RSS.

The goal is 3× the baseline's frames per minute on 2 workers. Each side's CPU time is
reported beside its wall time (the time of its process, or the sum of its workers'
during the run), since a shared machine makes wall times uncertain. Each step's time is
the sum over images of the time its tasks logged (the summary's is what the baseline
spent beyond the logged steps), for both sides. The detection library is compared
on a line of its own: sep (:func:`analysis.gp2.find_stars`) against photutils
(``Background2D`` and ``DAOStarFinder``) on the same reduced frames, with the sources
both found (matched within 2 px).

Run: ``.venv/bin/python bench/gp2.py`` (several minutes); ``--quick`` uses a 1024×1024
burst of 8 frames.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, machine_description, print_figures, run_child  # noqa: E402

#: Burst sizes: (frame side, epochs per filter) of the full run and of --quick.
FULL, QUICK = (4096, 10), (1024, 4)

_STEP_TIME = re.compile(
    r"(?:^|: )(reduction|cosmics|findstars|alignment|stacking|photometry|subtraction): "
    r".*\((\d+\.\d+) s\)$"
)


def write_burst(folder: Path, size: int, epochs: int) -> None:
    """A generated burst and its INI files, stacking pairs of frames of each filter."""
    from analysis.gp2.simulate import simulate_burst
    from data_access.gp2.files import write_simulated_burst

    burst = simulate_burst(seed=5, size=size, n_epochs=epochs, n_stars=int(150 * size / 512))
    files = write_simulated_burst(burst, folder)
    config = files["config"] / "pipeline.cfg"
    text = config.read_text(encoding="utf-8").replace("stacking  = no", "stacking  = yes")
    config.write_text(text.replace("detect_thresh = 3\n", "detect_thresh = 3\nstack_size = 2\n"))
    (folder / "t0").write_text(burst.t0)


def _plan(folder: Path):
    from data_access.gp2.config import read_pipeline_config
    from pipelines.gp2.runner import RunPlan

    return RunPlan.from_pipeline(
        read_pipeline_config(folder / "config"), t0=(folder / "t0").read_text()
    )


def _step_seconds(result) -> dict[str, float]:
    seconds = defaultdict(float)
    for image in result.images:
        for line in image.log:
            match = _STEP_TIME.search(line)
            if match:
                seconds[match[1]] += float(match[2])
    return dict(seconds)


def _outcome(folder: Path, result, seconds: float, peaks: list[int], cpu: float) -> dict:
    light_curve = result.light_curve
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "frames": len(list((folder / "raw").glob("*.fits"))),
        "images": len(result.images),
        "failures": [list(f) for f in result.failures],
        "worker_peaks": peaks,
        "steps": _step_seconds(result),
        "sources": sum(len(r.sources) for r in result.images if r.sources is not None),
        "light_curve": [list(map(str, row)) for row in light_curve.iterrows()],
    }


def plain_child(folder: Path) -> dict:
    """The baseline: the steps one after the other, the libraries' plain calls."""
    import functools

    from analysis.gp2 import remove_cosmics, stacking
    from pipelines.gp2.runner import run_burst
    from pipelines.gp2.steps import detection

    detection.remove_cosmics = functools.partial(remove_cosmics, whole_frame=True)
    stacking._median_of_good = functools.partial(np.nanmedian, axis=0)
    cpu, started = time.process_time(), time.perf_counter()
    result = run_burst([folder / "raw"], _plan(folder), output=folder / "out0")
    return _outcome(folder, result, time.perf_counter() - started, [], time.process_time() - cpu)


def gic_child(folder: Path, workers: int) -> dict:
    from data_access.config import Gp2Config
    from pipelines.gp2.cluster import open_client
    from pipelines.gp2.runner import run_burst

    plan = _plan(folder)
    config = Gp2Config(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="4GiB")
    with open_client(config) as client:
        cpu = sum(client.run(time.process_time).values())
        started = time.perf_counter()
        result = run_burst([folder / "raw"], plan, output=folder / f"out{workers}", client=client)
        seconds = time.perf_counter() - started
        cpu = sum(client.run(time.process_time).values()) - cpu

        def peak() -> int:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
            return 0

        peaks = list(client.run(peak).values())
    return _outcome(folder, result, seconds, peaks, cpu)


def _matched(a: np.ndarray, b: np.ndarray, radius: float = 2.0) -> int:
    from scipy.spatial import cKDTree

    if len(a) == 0 or len(b) == 0:
        return 0
    distance, _ = cKDTree(b).query(a, distance_upper_bound=radius)
    return int(np.count_nonzero(np.isfinite(distance)))


def library_child(folder: Path) -> dict:
    """sep against photutils on the reduced frames the sequential run wrote."""
    import warnings

    from astropy.stats import sigma_clipped_stats
    from photutils.background import Background2D
    from photutils.detection import DAOStarFinder

    from analysis.gp2 import find_stars
    from data_access.gp2.files import read_image

    warnings.simplefilter("ignore")
    frames = sorted((folder / "out0").rglob("reduced/*.fits"))
    sep_s = photutils_s = 0.0
    sep_n = photutils_n = both = 0
    for path in frames:
        data, _ = read_image(path)
        started = time.perf_counter()
        found = find_stars(data, detect_thresh=5.0)
        sep_s += time.perf_counter() - started
        started = time.perf_counter()
        background = Background2D(data, (64, 64), filter_size=(3, 3))
        subtracted = data - background.background
        _, _, std = sigma_clipped_stats(subtracted[::8, ::8])
        stars = DAOStarFinder(fwhm=found.fwhm, threshold=5.0 * std)(subtracted)
        photutils_s += time.perf_counter() - started
        ours = np.column_stack([found.table["x"], found.table["y"]])
        theirs = (
            np.column_stack([stars["xcentroid"], stars["ycentroid"]])
            if stars is not None
            else np.zeros((0, 2))
        )
        sep_n, photutils_n = sep_n + len(ours), photutils_n + len(theirs)
        both += _matched(ours, theirs)
    return {
        "frames": len(frames),
        "sep_s": sep_s,
        "photutils_s": photutils_s,
        "sep_sources": sep_n,
        "photutils_sources": photutils_n,
        "both": both,
    }


def _figures(runs: dict) -> list[Figure]:
    plain = runs["plain"]
    baseline = 60.0 * plain["frames"] / plain["seconds"]
    figures = [
        Figure("plain sequential (baseline)", baseline, "frames/min"),
        Figure("plain sequential, CPU", plain["cpu_seconds"], "s"),
    ]
    for kind, goal in (("1", None), ("2", 3.0)):
        run = runs[kind]
        figures += [
            Figure(
                f"gic {kind} worker process(es)",
                60.0 * run["frames"] / run["seconds"],
                "frames/min",
                baseline=baseline,
                baseline_name="plain sequential",
                goal_ratio=goal,
                higher_is_better=True,
            ),
            Figure(
                f"gic {kind} worker process(es), CPU of the workers",
                run["cpu_seconds"],
                "s",
                baseline=plain["cpu_seconds"],
                baseline_name="plain sequential",
            ),
            Figure(
                f"peak memory per worker ({kind})",
                max(run["worker_peaks"]) / 2**30,
                "GiB",
                baseline=2.0,
                baseline_name="goal",
                goal_ratio=1.0,
            ),
        ]
    for step, seconds in plain["steps"].items():
        figures.append(
            Figure(
                f"step {step}, gic 1 worker",
                runs["1"]["steps"].get(step, float("nan")),
                "s",
                baseline=seconds,
                baseline_name="plain sequential",
            )
        )
    rest = plain["seconds"] - sum(plain["steps"].values())
    figures.append(Figure("summary, reads and bookkeeping (plain sequential)", rest, "s"))
    lib = runs["lib"]
    figures.append(
        Figure(
            "detection: sep (find_stars) per frame",
            lib["sep_s"] / lib["frames"],
            "s",
            baseline=lib["photutils_s"] / lib["frames"],
            baseline_name="photutils Background2D+DAOStarFinder",
        )
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1024×1024 burst of 8 frames")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, folder = args.child
        children = {"lib": library_child, "plain": plain_child}
        child = children.get(kind, lambda f: gic_child(f, int(kind)))
        print(json.dumps(child(Path(folder))))
        return
    size, epochs = QUICK if args.quick else FULL
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory(prefix="gic-bench-gp2-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        write_burst(folder, size, epochs)
        print(f"wrote the burst in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        runs = {}
        for kind in ("plain", "1", "2", "lib"):
            child_env = {**env, "OMP_NUM_THREADS": "1"} if kind == "plain" else env
            command = [sys.executable, __file__, "--child", kind, str(folder)]
            child = run_child(command, env=child_env)
            if child.returncode != 0:
                raise SystemExit(f"{kind}: failed\n{child.stderr[-2000:]}")
            runs[kind] = child.json()
            shown = {k: v for k, v in runs[kind].items() if k != "light_curve"}
            print(f"{kind}: {shown}", file=sys.stderr)
    plain, one, two = (runs[k]["light_curve"] for k in ("plain", "1", "2"))
    lib = runs["lib"]
    print(
        f"light curves identical on 1 and 2 worker processes: {one == two} ({len(one)} rows); "
        f"and to the plain sequential one: {plain == one}; "
        f"sources: sep {lib['sep_sources']}, photutils {lib['photutils_sources']}, "
        f"both {lib['both']}"
    )
    n = runs["plain"]["frames"]
    title = f"gp2: {n} frames of {size}×{size}, eight steps ({machine_description()})"
    print_figures(title, _figures(runs))


if __name__ == "__main__":
    main()
