"""``gic demo build``: a demo workspace from data the project generates itself."""

from __future__ import annotations

import shutil

from app.commands.common import UsageError, open_workspace
from data_access.workspace import CACHE_NAME, LAKE_NAME
from demo import build_demo


def register(subparsers, groups) -> None:
    parser = subparsers.add_parser(
        "demo", help="build a demo workspace", description="Build a demo workspace."
    )
    what = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    build = what.add_parser(
        "build",
        help="generate realistic data and ingest it through the real paths",
        description="Fill the workspace with generated data: a month of 5-minute status files "
        "for 210 sensors (TCS, dome, weather station, the three cameras). Works offline.",
    )
    build.add_argument("--days", type=float, default=30.0, help="days of telemetry (default 30)")
    build.add_argument("--force", action="store_true", help="replace an existing workspace")
    build.set_defaults(handler=build_demo_workspace)


def build_demo_workspace(args) -> int:
    from tqdm import tqdm

    ws = open_workspace(args)
    if (ws.root / LAKE_NAME).exists() or (ws.root / CACHE_NAME).exists():
        if not args.force:
            raise UsageError(f"{ws.root} already holds a cache; use --force to rebuild it")
        for child in ws.root.iterdir():
            if child.name != "gic.toml":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    bars: dict[str, tqdm] = {}

    def progress(step: str, done: int, total: int) -> None:
        bar = bars.setdefault(step, tqdm(desc=step, unit="file", disable=None))
        bar.total, bar.n = total, done
        bar.refresh()

    try:
        lines = build_demo(ws.root, days=args.days, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    print(f"demo workspace ready in {ws.root}")
    for line in lines:
        print(f"  {line}")
    return 0
