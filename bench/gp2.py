"""Benchmark: GP2 reduction, source extraction and aperture photometry of DDRAGO-size frames.

Writes twenty 6144×6160 uint16 star-field frames (and a master bias and flat) to a
temporary folder, then, each contender in its own child process:

- ``gic 1 worker`` / ``gic 2 workers``: :func:`pipelines.gp2.runner.run_burst` with the
  photometry module (reduction → findstars → photometry, one chain of tasks per frame)
  on a dask LocalCluster of 1 and 2 single-thread worker processes; peak memory per
  worker is each worker's own high-water RSS;
- ``plain``: the same steps written plainly and run sequentially: ccdproc
  (``CCDData.read``, ``subtract_bias``, ``flat_correct``, ``gain_correct``) then photutils
  (``Background2D``, ``DAOStarFinder``, ``aperture_photometry``).

Frames per minute are printed beside the plain code's, with the goals (2 workers ≥ 3×,
1 worker ≥ 1.5×) and peak memory per worker against 2 GiB.

Run: ``.venv/bin/python bench/gp2.py`` (needs ccdproc and photutils; several minutes and
~3 GiB of temporary files); ``--quick`` uses 4 frames of 2048×2048.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import Figure, machine_description, print_figures, run_child  # noqa: E402

GAIN = 1.6


def write_frames(folder: Path, n: int, ny: int, nx: int) -> None:
    """n raw frames of one star field (bias 1000 ADU, a vignetted flat, sky, ~3000 stars)."""
    from astropy.io import fits

    from analysis.gp2.simulate import render_stars

    rng = np.random.default_rng(1)
    n_stars = int(3000 * ny * nx / (6144 * 6160))
    stars = render_stars(
        (ny, nx),
        rng.uniform(0, nx, n_stars),
        rng.uniform(0, ny, n_stars),
        10 ** rng.uniform(3.5, 6.0, n_stars),
        3.5,
    ).astype(np.float32)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float32)
    flat = (1.0 - 0.1 * (((xx - nx / 2) / nx) ** 2 + ((yy - ny / 2) / ny) ** 2)).astype(np.float32)
    del yy, xx
    bias = np.full((ny, nx), 1000.0, np.float32)
    fits.PrimaryHDU(bias, fits.Header({"BUNIT": "ADU"})).writeto(
        folder / "bias.fits", overwrite=True
    )
    fits.PrimaryHDU(flat).writeto(folder / "flat.fits", overwrite=True)
    base = (stars + 200.0) * flat / GAIN + bias
    (folder / "raw").mkdir(exist_ok=True)
    for k in range(n):
        frame = base + rng.normal(0.0, 10.0, (ny, nx)).astype(np.float32)
        header = fits.Header(
            {
                "INSTRUME": "DDRAGO1",
                "FILTER": "r",
                "EXPTIME": 60.0,
                "TRGID": "bench",
                "DATE-OBS": f"2026-03-14T03:{k:02d}:00",
                "GAIN": GAIN,
            }
        )
        fits.PrimaryHDU(np.clip(frame, 0, 65535).astype(np.uint16), header).writeto(
            folder / "raw" / f"frame_{k:02d}.fits", overwrite=True
        )


def gic_child(folder: Path, workers: int) -> dict:
    from data_access.config import Gp2Config
    from data_access.gp2.config import ModuleSettings, Parameters
    from pipelines.gp2.runner import RunPlan, open_client, run_burst

    settings = ModuleSettings(
        bias=str(folder / "bias.fits"),
        flat=str(folder / "flat.fits"),
        parameters=Parameters(gain=GAIN, detect_thresh=5.0),
    )
    plan = dataclasses.replace(RunPlan.for_module("photometry", settings), instrumental=True)
    config = Gp2Config(n_workers=workers, threads_per_worker=1, processes=True, memory_limit="4GiB")
    with open_client(config) as client:
        client.run(lambda: None)
        started = time.perf_counter()
        result = run_burst([folder / "raw"], plan, output=folder / f"out{workers}", client=client)
        seconds = time.perf_counter() - started

        def peak() -> int:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
            return 0

        peaks = list(client.run(peak).values())
    return {
        "seconds": seconds,
        "frames": len(result.images),
        "failures": len(result.failures),
        "worker_peaks": peaks,
        "sources": sum(len(r.sources) for r in result.images),
    }


def plain_child(folder: Path) -> dict:
    import warnings

    import astropy.units as u
    import ccdproc
    from astropy.nddata import CCDData
    from astropy.stats import sigma_clipped_stats
    from photutils.aperture import CircularAperture, aperture_photometry
    from photutils.background import Background2D
    from photutils.detection import DAOStarFinder

    warnings.simplefilter("ignore")
    bias = CCDData.read(folder / "bias.fits", unit="adu")
    flat = CCDData.read(folder / "flat.fits", unit="adu")
    started = time.perf_counter()
    frames, sources = 0, 0
    for path in sorted((folder / "raw").glob("*.fits")):
        ccd = CCDData.read(path, unit="adu")
        ccd = ccdproc.subtract_bias(ccd, bias)
        ccd = ccdproc.flat_correct(ccd, flat)
        ccd = ccdproc.gain_correct(ccd, GAIN * u.electron / u.adu)
        background = Background2D(ccd.data, (64, 64), filter_size=(3, 3))
        data = ccd.data - background.background
        _, _, std = sigma_clipped_stats(data[::8, ::8])
        found = DAOStarFinder(fwhm=3.5, threshold=5.0 * std)(data)
        if found is not None:
            apertures = CircularAperture(
                np.column_stack([found["xcentroid"], found["ycentroid"]]), r=5.0
            )
            aperture_photometry(data, apertures)
            sources += len(found)
        frames += 1
    return {"seconds": time.perf_counter() - started, "frames": frames, "sources": sources}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 frames of 2048×2048")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, folder = args.child
        out = plain_child(Path(folder)) if kind == "plain" else gic_child(Path(folder), int(kind))
        print(json.dumps(out))
        return
    n, ny, nx = (4, 2048, 2048) if args.quick else (20, 6144, 6160)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with tempfile.TemporaryDirectory(prefix="gic-bench-gp2-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        write_frames(folder, n, ny, nx)
        print(
            f"wrote {n} frames of {ny}×{nx} in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        runs = {}
        for kind in ("plain", "1", "2"):
            child = run_child([sys.executable, __file__, "--child", kind, str(folder)], env=env)
            runs[kind] = child.json()
            print(f"{kind}: {runs[kind]}", file=sys.stderr)
    plain = 60.0 * runs["plain"]["frames"] / runs["plain"]["seconds"]
    figures = []
    for kind, goal in (("1", 1.5), ("2", 3.0)):
        rate = 60.0 * runs[kind]["frames"] / runs[kind]["seconds"]
        figures.append(
            Figure(
                f"gic {kind} worker(s)",
                rate,
                "frames/min",
                baseline=plain,
                baseline_name="ccdproc+photutils sequential",
                goal_ratio=goal,
                higher_is_better=True,
            )
        )
        figures.append(
            Figure(
                f"peak memory per worker ({kind})",
                max(runs[kind]["worker_peaks"]) / 2**30,
                "GiB",
                baseline=2.0,
                baseline_name="goal",
                goal_ratio=1.0,
            )
        )
    print_figures(f"gp2: {n} frames of {ny}×{nx} ({machine_description()})", figures)


if __name__ == "__main__":
    main()
