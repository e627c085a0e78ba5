"""Demo reprocessing: a generated burst to reprocess on the Reprocess page, with its alert.

A star field with a fading afterglow (a known power law, seeing and sky varying), raw
frames in two filters with bias, dark and flat applied, the masters, the reference images,
the field's catalogue and the notes' pipeline folder, written under the workspace's
``raw/gp2/<burst ID>/``; the burst's SVOM notices (ECLAIRs, then an MXT update at the
afterglow's position) are stored through the real alert path, so that it is one of the
alerts' bursts. The public frames of ``../shared/data/fits`` are added as a second folder
when present (the demo never depends on them). Nothing is reprocessed here: the page does it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

from analysis.gp2.simulate import simulate_burst
from data_access.gp2.files import write_simulated_burst
from data_access.stores import Stores
from demo.alerts import ECLAIRS_WAKEUP, MXT_UPDATE, DemoNotice, write_demo_packets
from demo.calibration import demo_last_night

Progress = Callable[[str, int, int], None]

#: The public science frames the demo adds when ../shared/data is beside the repository.
SHARED_FITS = Path(__file__).resolve().parents[2] / "shared" / "data" / "fits"
SHARED_FRAMES = ("saao_1m_ste3/a8280271.fits", "panoptes_dslr/unsolved.fits")
#: The demo burst's decay index and its g magnitude 300 s after T0.
DEMO_INDEX, DEMO_MAG_300S = 1.2, 15.8


def demo_trigger_time(last_night: date) -> datetime:
    """The demo burst's T0: 06:00 UTC after the evening of the demo's last night (23:00 at
    San Pedro Mártir), so that the burst's frames, its masters and the night's frames share
    one night, over (the night under way is the next one)."""
    return datetime.combine(last_night + timedelta(days=1), time(6))


def build_reprocess_demo(stores: Stores, *, days: float, progress: Progress | None) -> str:
    """Write the demo burst's frames and store its alert (see the module docstring).

    ``days`` < 30 (the tests' demo) makes 256-pixel frames at four epochs, else 512 pixels
    at six: small enough to reprocess in well under a minute.
    """
    if progress:
        progress("generating the burst to reprocess", 0, 1)
    small = days < 30
    t0 = demo_trigger_time(demo_last_night(stores))
    burst_id = f"sb{t0:%y%m%d}90"
    burst = simulate_burst(
        seed=3,
        size=256 if small else 512,
        n_epochs=4 if small else 6,
        n_stars=70 if small else 150,
        index=DEMO_INDEX,
        mag_at_t1=DEMO_MAG_300S,
        t0=t0.strftime("%Y-%m-%dT%H:%M:%S.000"),
        trigger_id=burst_id,
    )
    frames = stores.workspace.config.gp2.input_dir
    folder = stores.workspace.path(f"{frames}/{burst_id}")
    files = write_simulated_burst(burst, folder)
    _relative_config(files["config"], folder)
    notices = [
        DemoNotice(
            burst_id,
            ECLAIRS_WAKEUP,
            "ECLAIRs",
            t0,
            t0 + timedelta(seconds=60),
            burst.ra + 0.03,
            burst.dec - 0.02,
            0.12,
        ),
        DemoNotice(
            burst_id, MXT_UPDATE, "MXT", t0, t0 + timedelta(minutes=6), burst.ra, burst.dec, 0.01
        ),
    ]
    paths = write_demo_packets(stores.workspace.path("raw/voevents"), notices)
    receipts, _ = stores.alerts.store_files(paths, source="files")
    shared = _copy_shared_frames(stores.workspace.path(f"{frames}/shared-fits"))
    return (
        f"reprocess: burst {burst_id} ({len(burst.frames)} frames of "
        f"{burst.frames[0].data.shape[0]} px, {len(receipts)} alerts), "
        f"{shared} public frames"
    )


def _relative_config(config: Path, folder: Path) -> None:
    """Make the pipeline folder's paths relative to the burst folder (the page reads them so),
    so that a copy of the workspace still finds its masters."""
    for path in config.glob("*.cfg"):
        text = path.read_text(encoding="utf-8").replace(f"{folder}/", "")
        path.write_text(text, encoding="utf-8")


def _copy_shared_frames(target: Path) -> int:
    found = [SHARED_FITS / name for name in SHARED_FRAMES if (SHARED_FITS / name).is_file()]
    if not found:
        shutil.rmtree(target, ignore_errors=True)
        return 0
    for path in found:
        shutil.copyfile(path, target / path.name)
    return len(found)
