"""Benchmark: a master bias from ten 6144×6160 uint16 frames, built and validated.

Writes ten DDRAGO-sized raw biases (and a reference master) to a temporary folder,
then times, each in its own child process (so that its peak RSS is its own):

- ``gic``: the workbench end to end as ``gic calib run`` does it: ten files in (frame
  checks, combine, residual check), validated against the reference master read from
  disk, master and report JSON written; and the combine step alone;
- ``ccdproc``: ``ccdproc.combine(files, method="median")``, with its defaults;
- ``ccdproc-tuned``: the same as an expert runs it: ``dtype=np.float32``, an uncertainty
  that costs nothing (the workbench computes none either) and ``mem_limit=2e9``;
- ``numpy``: the ten frames stacked in memory and ``np.median(stack, axis=0)``;
- ``bandwidth``: one pass reading the ten files (the memory-bandwidth bound).

Run: ``.venv/bin/python bench/calibration.py`` (needs ccdproc in the environment;
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

NY, NX, N_FRAMES = 6144, 6160, 10
CONTENDERS = ("bandwidth", "gic-combine", "gic", "numpy", "ccdproc", "ccdproc-tuned")


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
    out: dict = {"kind": kind}
    start = time.perf_counter()
    if kind == "gic":
        from analysis.calibration import validate_master
        from data_access.fits_frames import read_master, write_master
        from pipelines.calibration_night import build_from_files, write_report

        built = build_from_files(files, "bias")  # frame checks, combine, residual check
        out["combine_s"] = time.perf_counter() - start
        reference, reference_header = read_master(folder / "reference.fits")
        report = validate_master(
            built.master.data,
            built.master.header,
            reference,
            reference_header,
            im_name="master_gic.fits",
            residual=built.residual,
        )
        write_master(folder / "master_gic.fits", built.master.data, built.master.header)
        write_report(folder, "report.json", report)
        out["valid"] = report.valid
        out["rmsdiff"] = report.rmsdiff
        out["residual_noise"] = built.residual.noise if built.residual else None
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
    out["wall_s"] = time.perf_counter() - start
    out["peak_rss_mib"] = peak_rss_mib()
    return out


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
    "ccdproc": "ccdproc.combine(method='median')",
    "ccdproc-tuned": "ccdproc tuned (float32, mem_limit=2e9)",
    "bandwidth": "one read pass (bandwidth bound)",
}


def _ratio(results: dict, a: str, b: str) -> float:
    """Wall time of ``a`` over that of ``b`` (NaN when one was not measured)."""
    if a not in results or b not in results:
        return math.nan
    return results[a]["wall_s"] / results[b]["wall_s"]


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
    print(f"{'contender':<40}{'wall s':>9}{'peak RSS MiB':>14}{'vs gic end-to-end':>19}")
    for kind in CONTENDERS:
        if kind in results:
            r = results[kind]
            ratio = _ratio(results, kind, "gic")
            print(f"{ROWS[kind]:<40}{r['wall_s']:>9.2f}{r['peak_rss_mib']:>14.0f}{ratio:>18.2f}x")
    print(f"\nccdproc / gic end to end:       {_ratio(results, 'ccdproc', 'gic'):.1f}x")
    print(
        f"ccdproc tuned / gic end to end: {_ratio(results, 'ccdproc-tuned', 'gic'):.1f}x "
        "(goal >= 15)"
    )
    print(f"numpy / gic end to end:         {_ratio(results, 'numpy', 'gic'):.1f}x")
    print(f"gic combine / read bound:       {_ratio(results, 'gic-combine', 'bandwidth'):.1f}x")
    if "gic" in results:
        gic = results["gic"]
        print(f"gic peak RSS: {gic['peak_rss_mib']:.0f} MiB (goal <= 1536)")
        print(
            f"validated: VALID={gic['valid']}, RMSDIFF={gic['rmsdiff']:.3f} ADU, "
            f"residual noise {gic['residual_noise']:.3f} ADU (read noise 5)"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]))))
    else:
        main(tuple(sys.argv[1:]) or CONTENDERS)
