"""Benchmark: a master bias from ten 6144×6160 uint16 frames, built and validated.

Writes ten DDRAGO-sized raw biases (and a reference master) to a temporary folder,
then times, each in its own child process (so that its peak RSS is its own):

- ``gic``: the workbench end to end as ``gic calib run`` does it: ten files in (frame
  checks, combine, residual check), validated against the reference master read from
  disk, master and report JSON written; each phase is timed on its own (wall and CPU
  time), so that a reader sees where the time goes. The modules a contender uses
  (numpy, astropy, the workbench, ccdproc) are imported before its clock starts and
  that time is printed apart: a process pays it once, however many masters it builds;
- ``gic-combine``: the combine step alone (frames opened and checked, no residual check);
- ``ccdproc``: ``ccdproc.combine(files, method="median")``, with its defaults;
- ``ccdproc-tuned``: the same as an expert runs it: ``dtype=np.float32``, an uncertainty
  that costs nothing (the workbench computes none either) and ``mem_limit=2e9``;
- ``numpy``: the ten frames stacked in memory and ``np.median(stack, axis=0)``;
- ``bottleneck``: the same stack, its median taken by ``bottleneck.median`` (compiled,
  a quickselect per pixel) on float32 blocks of :data:`BOTTLENECK_ROWS` rows: the
  compiled library the workbench's selection network is measured against;
- ``bandwidth``: one pass reading the ten files (the memory-bandwidth bound).

The goals (issue 14): end to end ≤ 1.0 s, at least 15× faster than tuned ccdproc, the
combine ≤ 3× the read bound, and the master identical to ``np.median`` (checked here on
spread rows, after the timings). Every contender also reports its CPU time (all its
threads): on a shared, loaded machine wall times stretch with the load while CPU times
barely move, so the CPU figures are printed beside the wall ones.

Run: ``.venv/bin/python bench/calibration.py`` (needs the ``bench`` extra: ccdproc, bottleneck;
about 2 minutes and 7 GiB at peak for ccdproc on a 2-core machine);
``bench/calibration.py gic ccdproc-tuned`` measures only the contenders named.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._common import Figure, print_figures  # noqa: E402 - after the path is set

NY, NX, N_FRAMES = 6144, 6160, 10

#: The goals: end to end (s), speed-up over tuned ccdproc, combine over the read bound.
GOAL_END_TO_END_S = 1.0
GOAL_SPEEDUP_TUNED = 15.0
GOAL_COMBINE_OVER_BOUND = 3.0

#: Rows of the master compared with ``np.median`` of the frames (evenly spread).
CHECK_ROWS = 64

#: Rows of the stack converted to float32 (bottleneck takes no uint16) per median call.
BOTTLENECK_ROWS = 16

#: The phases of the end to end, in order: (name, module, function timed).
PHASES = (
    ("open and describe frames", "pipelines.calibration_night", "open_frame"),
    ("frame checks", "pipelines.calibration_night", "check_frames"),
    ("combine", "pipelines.calibration_night", "build_master"),
    ("residual check", "pipelines.calibration_night", "verify_master"),
    ("read reference", "data_access.fits_frames", "read_master"),
    ("validate", "pipelines.calibration_night", "validate_master"),
    ("write master", "data_access.fits_frames", "write_master"),
    ("write report", "pipelines.calibration_night", "write_report"),
)
#: Phases that run beside another (in a thread), left out of the sum of the phases.
BESIDE = {"write master": "beside validation", "read reference": "beside the build"}
#: The modules each contender imports (timed apart from its work, see import_modules).
IMPORTS = {
    "gic": ("analysis.calibration", "data_access.fits_frames", "pipelines.calibration_night"),
    "gic-combine": ("pipelines.calibration_night",),
    "ccdproc": ("ccdproc",),
    "ccdproc-tuned": ("ccdproc",),
    "numpy": ("astropy.io.fits",),
    "bottleneck": ("astropy.io.fits", "bottleneck"),
}
CONTENDERS = (
    "bandwidth",
    "gic-combine",
    "gic",
    "numpy",
    "bottleneck",
    "ccdproc",
    "ccdproc-tuned",
)


def write_frames(folder: Path) -> list[Path]:
    """Ten raw biases (1000 ADU, read noise 5 ADU, a column pattern) and a reference."""
    from astropy.io import fits

    rng = np.random.default_rng(42)
    pattern = (1000 + 3 * np.sin(np.arange(NX) / 50.0)).astype(np.float32)
    paths = []
    for k in range(N_FRAMES):
        data = rng.normal(0, 5, (NY, NX)).astype(np.float32)
        data += pattern
        header = fits.Header(
            {
                "IMAGETYP": "BIAS",
                "INSTRUME": "DDRAGO1",
                "FILTER": "g",
                "EXPTIME": 0.0,
                "DATE-OBS": f"2025-03-01T23:{k:02d}:00",
            }
        )
        path = folder / f"bias_{k:02d}.fits"
        fits.PrimaryHDU(np.round(data).astype(np.uint16), header).writeto(path)
        paths.append(path)
    reference = np.broadcast_to(pattern, (NY, NX)).astype(np.float32)
    header = fits.Header(
        {
            "IMAGETYP": "MASTER BIAS",
            "CALTYPE": "bias",
            "INSTRUME": "DDRAGO1",
            "FILTER": "NONE",
            "DATE-OBS": "2025-02-28T23:00:00",
            "BUNIT": "ADU",
        }
    )
    fits.PrimaryHDU(reference, header).writeto(folder / "reference.fits")
    return paths


def child(kind: str, folder: Path) -> dict:
    """Run one contender in this process and return its timings and peak RSS."""
    files = sorted(folder.glob("bias_*.fits"))
    out: dict = {"kind": kind, **import_modules(kind)}
    phases = time_phases() if kind == "gic" else {}
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "gic":
        from data_access.fits_frames import read_master, write_master
        from pipelines.calibration_night import (
            build_from_files,
            built_while_reading,
            validated_while_kept,
            write_report,
        )

        built, (reference, reference_header) = built_while_reading(  # the reference read
            lambda: build_from_files(files, "bias"),  # beside checks, combine, residual check
            lambda: read_master(folder / "reference.fits"),
        )
        out["combine_s"] = time.perf_counter() - start
        report, _ = validated_while_kept(  # the master written beside the validation
            lambda: write_master(
                folder / "master_gic.fits", built.master.data, built.master.header
            ),
            built.master.data,
            built.master.header,
            reference,
            reference_header,
            im_name="master_gic.fits",
            residual=built.residual,
        )
        write_report(folder, "report.json", report)
        out["phases"] = phases
        out["valid"] = report.valid
        out["rmsdiff"] = report.rmsdiff
        out["residual_noise"] = built.residual.noise if built.residual else None
        out["wall_s"] = time.perf_counter() - start
        out["cpu_s"] = time.process_time() - cpu_start
        out["identical_to_np_median"] = same_as_np_median(files, built.master.data)
    elif kind == "gic-combine":
        from pipelines.calibration_night import build_from_files

        build_from_files(files, "bias", verify=False)
    elif kind == "ccdproc":
        import warnings

        import ccdproc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            master = ccdproc.combine([str(f) for f in files], method="median", unit="adu")
        out["pixel"] = float(master.data[100, 100])
    elif kind == "ccdproc-tuned":
        import warnings

        import ccdproc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            master = ccdproc.combine(
                [str(f) for f in files],
                method="median",
                unit="adu",
                dtype=np.float32,
                combine_uncertainty_function=no_uncertainty,
                mem_limit=2e9,
            )
        out["pixel"] = float(master.data[100, 100])
    elif kind == "numpy":
        from astropy.io import fits

        stack = np.stack([fits.getdata(f) for f in files])
        median = np.median(stack, axis=0)
        out["pixel"] = float(median[100, 100])
    elif kind == "bottleneck":
        median = bottleneck_median(files)
        out["wall_s"] = time.perf_counter() - start
        out["cpu_s"] = time.process_time() - cpu_start
        out["identical_to_np_median"] = same_as_np_median(files, median)
    elif kind == "bandwidth":
        buffer = bytearray(NY * NX * 2)
        view = memoryview(buffer)
        total = 0
        for path in files:
            with open(path, "rb") as handle:
                handle.seek(2880 * 2)  # past the header
                total += handle.readinto(view)
        out["bytes"] = total
    else:
        raise SystemExit(f"unknown contender {kind}")
    out.setdefault("wall_s", time.perf_counter() - start)  # the gic check is not timed
    out.setdefault("cpu_s", time.process_time() - cpu_start)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def import_modules(kind: str) -> dict[str, float]:
    """Import what a contender uses before its clock starts, and time that apart
    (``import_s``, ``import_cpu_s``): a process pays it once, whatever it then builds."""
    import importlib

    wall, cpu = time.perf_counter(), time.process_time()
    for name in IMPORTS.get(kind, ()):
        importlib.import_module(name)
    return {"import_s": time.perf_counter() - wall, "import_cpu_s": time.process_time() - cpu}


def time_phases() -> dict[str, list[float]]:
    """Wrap each function of :data:`PHASES` where the end to end calls it, so that every
    call adds its wall and CPU time (s) to ``{phase: [wall, cpu]}``; nested phases (the
    combine inside the build) are counted in their own row only."""
    import importlib

    phases: dict[str, list[float]] = {name: [0.0, 0.0] for name, _, _ in PHASES}
    for name, module_name, function in PHASES:
        module = importlib.import_module(module_name)
        setattr(module, function, timed(getattr(module, function), phases[name]))
    return phases


def timed(function, totals: list[float]):
    """``function``, adding the wall and CPU time of each call to ``totals``."""

    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[0] += time.perf_counter() - wall
            totals[1] += time.process_time() - cpu

    return wrapper


def same_as_np_median(files: list[Path], master: np.ndarray) -> bool:
    """Whether the master equals ``np.median`` of the frames on :data:`CHECK_ROWS` spread
    rows (the frames read by astropy, as float32)."""
    from astropy.io import fits

    rows = slice(0, NY, NY // CHECK_ROWS)
    strips = []
    for path in files:
        with fits.open(path) as hdul:
            strips.append(np.asarray(hdul[0].section[rows], dtype=np.float32))
    stack = np.stack(strips)
    return bool(np.array_equal(master[rows], np.median(stack, axis=0)))


def bottleneck_median(files: list[Path]) -> np.ndarray:
    """The frames stacked in memory (uint16), their median by ``bottleneck.median`` over
    float32 blocks of :data:`BOTTLENECK_ROWS` rows."""
    import bottleneck
    from astropy.io import fits

    stack = np.stack([fits.getdata(f) for f in files])
    median = np.empty(stack.shape[1:], np.float32)
    for r0 in range(0, stack.shape[1], BOTTLENECK_ROWS):
        rows = slice(r0, r0 + BOTTLENECK_ROWS)
        median[rows] = bottleneck.median(stack[:, rows].astype(np.float32), axis=0)
    return median


def no_uncertainty(data, axis=0):
    """ccdproc's uncertainty of a combine, at no cost: zeros (the workbench gives none)."""
    shape = data.shape[:axis] + data.shape[axis + 1 :]
    return np.zeros(shape, np.float32)


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM), MiB.

    Not ``getrusage``: on Linux its ru_maxrss survives fork+exec, so a child would
    report the parent's peak when that was larger.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, folder: Path) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


ROWS = {
    "gic": "gic end to end (build+write+validate)",
    "gic-combine": "gic combine step only",
    "numpy": "numpy.median over the stack",
    "bottleneck": "bottleneck.median over the stack",
    "ccdproc": "ccdproc.combine(method='median')",
    "ccdproc-tuned": "ccdproc tuned (float32, mem_limit=2e9)",
    "bandwidth": "one read pass (bandwidth bound)",
}


#: The end to end's peak resident memory allowed (MiB).
GOAL_PEAK_RSS_MIB = 1536


def print_contenders(results: dict) -> None:
    """Wall and CPU time, peak memory of every contender, and its wall time over gic's."""
    gic = results.get("gic", {}).get("wall_s", math.nan)
    print(f"\n{'contender':<40}{'wall s':>9}{'CPU s':>9}{'peak RSS MiB':>14}{'vs gic':>9}")
    for kind in CONTENDERS:
        if kind in results:
            r = results[kind]
            print(
                f"{ROWS[kind]:<40}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}"
                f"{r['peak_rss_mib']:>14.0f}{r['wall_s'] / gic:>8.2f}x"
            )


def print_phases(gic: dict) -> None:
    """Where the end to end's time goes: each phase's wall and CPU time and share."""
    print(f"\n{'gic end to end, by phase':<40}{'wall s':>9}{'CPU s':>9}{'share':>8}")
    walls = cpus = 0.0
    for name, (wall, cpu) in gic["phases"].items():
        if name in BESIDE:  # its time is inside another phase's; its CPU the process's
            print(f"{f'{name} ({BESIDE[name]})':<40}{wall:>9.3f}{'':>9}{'':>8}")
            continue
        walls, cpus = walls + wall, cpus + cpu
        print(f"{name:<40}{wall:>9.3f}{cpu:>9.3f}{wall / gic['wall_s']:>8.0%}")
    other_wall, other_cpu = gic["wall_s"] - walls, gic["cpu_s"] - cpus
    print(f"{'other (glue between the phases)':<40}{other_wall:>9.3f}{other_cpu:>9.3f}", end="")
    print(f"{other_wall / gic['wall_s']:>8.0%}")
    print(f"{'total':<40}{gic['wall_s']:>9.3f}{gic['cpu_s']:>9.3f}")
    print(
        f"{'imports, once per process (not above)':<40}{gic['import_s']:>9.3f}"
        f"{gic['import_cpu_s']:>9.3f}"
    )


def goal_figures(results: dict, key: str) -> list[Figure]:
    """The goals as figures, on wall (``key="wall_s"``) or CPU time (``"cpu_s"``).

    The goals are set on wall time; the CPU-time figures carry no verdict (the combine's
    two threads add up their CPU time), they show how far the load stretched the wall."""
    cpu = key == "cpu_s"
    unit = "s CPU" if cpu else "s"

    def goal(ratio: float) -> float | None:
        return None if cpu else ratio

    figures = []
    if "gic" in results:
        figures.append(
            Figure(
                "gic end to end",
                results["gic"][key],
                unit,
                baseline=GOAL_END_TO_END_S,
                baseline_name="goal",
                goal_ratio=goal(1.0),
            )
        )
    if "gic" in results and "ccdproc-tuned" in results:
        figures.append(
            Figure(
                "gic end to end vs tuned ccdproc",
                results["gic"][key],
                unit,
                baseline=results["ccdproc-tuned"][key],
                baseline_name="ccdproc tuned",
                goal_ratio=goal(1 / GOAL_SPEEDUP_TUNED),
            )
        )
    if "gic-combine" in results:
        figures.append(
            Figure(
                "gic combine vs read bound",
                results["gic-combine"][key],
                unit,
                baseline=results["bandwidth"][key],
                baseline_name="one read pass",
                goal_ratio=goal(GOAL_COMBINE_OVER_BOUND),
            )
        )
    if "gic" in results and not cpu:
        figures.append(
            Figure(
                "gic peak RSS",
                results["gic"]["peak_rss_mib"],
                "MiB",
                baseline=GOAL_PEAK_RSS_MIB,
                baseline_name="goal",
                goal_ratio=1.0,
            )
        )
    return figures


def main(kinds: tuple[str, ...]) -> None:
    unknown = set(kinds) - set(CONTENDERS)
    if unknown:
        raise SystemExit(f"unknown contender(s) {sorted(unknown)}; known: {CONTENDERS}")
    kinds = tuple(dict.fromkeys(("bandwidth", *kinds)))  # the read bound is always measured
    with tempfile.TemporaryDirectory(prefix="gic-bench-calib-") as tmp:
        folder = Path(tmp)
        print(f"writing {N_FRAMES} frames of {NY}x{NX} uint16 to {folder} ...", flush=True)
        write_frames(folder)
        measure("bandwidth", folder)  # warm the page cache: every contender reads from memory
        results = {kind: measure(kind, folder) for kind in kinds}
    bound = results["bandwidth"]["wall_s"]
    gib = N_FRAMES * NY * NX * 2 / 2**30
    print(f"\nread bound: {gib:.2f} GiB in {bound:.3f} s ({gib / bound:.1f} GiB/s)")
    print_contenders(results)
    if "gic" in results:
        print_phases(results["gic"])
    print_figures("calibration goals (wall time)", goal_figures(results, "wall_s"))
    print_figures("the same in CPU time (all threads)", goal_figures(results, "cpu_s"))
    for slower in ("ccdproc-tuned", "ccdproc", "numpy", "bottleneck"):
        if "gic" in results and slower in results:
            speedup = results[slower]["wall_s"] / results["gic"]["wall_s"]
            print(f"{ROWS[slower]} / gic end to end: {speedup:.1f}x wall", end="")
            print(f", {results[slower]['cpu_s'] / results['gic']['cpu_s']:.1f}x CPU")
    if "gic" in results:
        gic = results["gic"]
        print(
            f"master identical to np.median on {CHECK_ROWS} spread rows: "
            f"{gic['identical_to_np_median']}; VALID={gic['valid']}, "
            f"RMSDIFF={gic['rmsdiff']:.3f} ADU, residual noise {gic['residual_noise']:.3f} ADU "
            "(read noise 5)"
        )
    if "bottleneck" in results:
        same = results["bottleneck"]["identical_to_np_median"]
        print(f"bottleneck.median identical to np.median on {CHECK_ROWS} spread rows: {same}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]))))
    else:
        main(tuple(sys.argv[1:]) or CONTENDERS)
