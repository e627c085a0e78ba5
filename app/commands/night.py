"""Night commands: ``gic night show YYYYMMDD``, one night's image quality (:mod:`data_access.frame_quality`)."""

from __future__ import annotations

import json

from app.commands.common import UsageError, open_workspace, write_frame
from data_access.frame_quality import parse_night
from data_access.stores import Stores

#: The columns ``--format table`` prints of each frame.
TABLE_COLUMNS = [
    "image_id",
    "instrument",
    "filter",
    "t_mid",
    "zp",
    "fwhm_arcsec",
    "ellipticity",
    "sky_mag_arcsec2",
    "limit_mag",
    "airmass",
    "outside",
]


def register(subparsers, groups) -> None:
    night = subparsers.add_parser(
        "night",
        help="a night's image quality: each science frame's figures and the trends",
        description="The image quality of the science frames the workbench saw.",
    )
    what = night.add_subparsers(dest="what", metavar="WHAT", required=True)
    show = what.add_parser(
        "show",
        help="one night's frames and the trends up to it (what the Night page shows)",
        description="Each science frame of the night (observing nights as the calibration "
        "pages count them): zero point (AB mag for 1 e-/s) and its error, FWHM (px and "
        "arcsec), ellipticity, sky (ADU and mag/arcsec²), 5σ limiting magnitude, airmass, "
        "where the figures come from (gp1, gp2, demo), the telemetry at the exposure, and why "
        "it lies outside the [quality] limits ('' when it does not); then, per instrument and "
        "filter, the nightly medians of the [quality] trend_nights nights ending with it.",
    )
    show.add_argument("night", metavar="YYYYMMDD")
    show.add_argument("--instrument", default="", help="only this instrument's frames")
    show.add_argument("--filter", default="", help="only this filter's frames")
    show.add_argument("--format", choices=["json", "table"], default="json")
    show.set_defaults(handler=show_night)


def show_night(args) -> int:
    try:
        night = parse_night(args.night)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stores = Stores(open_workspace(args), read_only=True)
    try:
        quality = stores.quality
        if args.format == "json":
            report = quality.night_report(night, instrument=args.instrument, filter_=args.filter)
            print(json.dumps(report, indent=2))
            return 0
        frames = quality.frames(night, instrument=args.instrument, filter_=args.filter)
    finally:
        stores.close()
    flagged = int((frames["outside"] != "").sum())
    print(f"night {night:%Y-%m-%d}: {len(frames)} frames, {flagged} outside the limits")
    write_frame(frames[TABLE_COLUMNS], "table")
    return 0
