"""GP2 reprocessing commands: ``gic module``, ``gic pipeline`` and ``gic gp1``.

The three access levels of the design notes ("GP1 adaptation for Colibri"), reading
their INI files as they are:

- ``gic module NAME --input/-s DIR|FILES --output/-r DIR --config/-c FILE``, and
  ``gic module --list``;
- ``gic pipeline --config/-c DIR``: the [Structure of pipeline] modules, outputs in
  folders built from the [Workspace] header keys;
- ``gic gp1 --config/-c FILE``: watch the input folder and route each new image to
  the instance whose identifier headers match.

Runs go to a dask LocalCluster, or to ``[gp2] scheduler_address`` of the workspace's
gic.toml when set; ``--local`` runs in this process. A progress bar is drawn on stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from pathlib import Path

from app.commands.common import UsageError, open_workspace, progress_bar
from data_access.calibration.masters import MasterFiles
from data_access.config import Gp2Config
from data_access.gp2.config import (
    STEPS,
    ModuleSettings,
    read_gp1_config,
    read_module_config,
    read_pipeline_config,
)
from pipelines.gp2.cluster import open_client
from pipelines.gp2.gp1 import Gp1Runner
from pipelines.gp2.planning import masters_from_store
from pipelines.gp2.runner import HeaderKeywords, RunPlan, RunResult, run_burst

MODULE_HELP = {
    "reduction": "bias, dark and flat from the masters, gain, saturation mask → reduced/",
    "cosmics": "cosmic-ray removal (L.A.Cosmic) → cosmics/",
    "findstars": "background, sources and the PSF FWHM → sources/*.csv",
    "alignment": "frames resampled onto the reference (WCS, else astroalign) → aligned/",
    "stacking": "aligned frames combined per filter (stack_size, stack_method) → stacked/",
    "photometry": "aperture photometry, zero point on the catalogue, limit → photometry/*.csv",
    "subtraction": "reference subtracted after PSF matching, candidates → subtraction/",
    "summary": "the transient located and measured → photometry.csv, candidates.csv",
}


def _execution_options(parser) -> None:
    parser.add_argument(
        "--local", action="store_true", help="run in this process (no dask cluster)"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="LocalCluster workers (default: [gp2])"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="dask scheduler (default: [gp2] scheduler_address)"
    )
    parser.add_argument(
        "--t0", metavar="ISO", default="", help="trigger time (UTC) for the decay fit"
    )


def _run_options(parser) -> None:
    _execution_options(parser)
    parser.add_argument(
        "--instrumental",
        action="store_true",
        help="photometry without a reference catalogue writes instrumental magnitudes "
        "(inst_mag, inst_mag_err) instead of failing",
    )


def register(subparsers, groups) -> None:
    module = subparsers.add_parser(
        "module",
        help="run one GP2 module over images (the notes' module level)",
        description="Run one module over FITS files, in the notes' style: --input/-s (folder or "
        "files), --output/-r (folder), --config/-c (its INI file). The modules it needs run too, "
        "in memory. --list lists the modules.",
    )
    module.add_argument(
        "name", nargs="?", choices=STEPS, metavar="NAME", help=f"one of {', '.join(STEPS)}"
    )
    module.add_argument("--list", action="store_true", help="list the modules and exit")
    module.add_argument("--input", "-s", nargs="+", metavar="PATH", help="folder or FITS files")
    module.add_argument("--output", "-r", metavar="DIR", help="output folder")
    module.add_argument("--config", "-c", metavar="FILE", help="the module's INI file")
    _run_options(module)
    module.set_defaults(handler=module_run)

    pipeline = subparsers.add_parser(
        "pipeline",
        help="run the GP2 pipeline (the notes' pipeline level)",
        description="Run the modules switched on in [Structure of pipeline] of the configuration "
        "folder's file; outputs go to folders built from the [Workspace] header keys.",
    )
    pipeline.add_argument(
        "--config", "-c", required=True, metavar="DIR", help="configuration folder (or file)"
    )
    pipeline.add_argument(
        "--input", "-s", nargs="+", metavar="PATH", help="override [Input and Output] input"
    )
    pipeline.add_argument(
        "--output", "-r", metavar="DIR", help="override [Input and Output] output"
    )
    _run_options(pipeline)
    pipeline.set_defaults(handler=pipeline_run)

    gp1 = subparsers.add_parser(
        "gp1",
        help="watch a folder and route images to the pipeline instances (GP1 level)",
        description="Watch [General] input; send each new image, once, to the instance whose "
        "identifier_header values match identifier_value; every instance runs at once.",
    )
    gp1.add_argument("--config", "-c", required=True, metavar="FILE", help="GP1's INI file")
    gp1.add_argument("--once", action="store_true", help="process what is there, then stop")
    gp1.add_argument("--max-seconds", type=float, metavar="S", help="stop after this long")
    _execution_options(gp1)
    gp1.set_defaults(handler=gp1_run)

    gp2 = subparsers.add_parser("gp2", help="GP2's input: a burst's frames from the export API")
    sync = gp2.add_subparsers(dest="gp2_command", required=True).add_parser(
        "sync",
        help="pull a burst's images and their masters into its frames folder",
        description="Bring the burst's images from the export API ([sdb] export_url) into "
        "<[gp2] input_dir>/<burst>/raw/, and the masters in force for their nights into "
        "masters/; what is already there with the listed SHA-256 is not downloaded again.",
    )
    sync.add_argument("burst_id", nargs="?", metavar="BURST_ID")
    sync.add_argument(
        "--pending", action="store_true", help="run the syncs NATS messages and notices asked for"
    )
    sync.set_defaults(handler=gp2_sync)


def _workspace_parts(args) -> tuple[Gp2Config, object | None]:
    """[gp2] settings and the masters-in-force resolver of the workspace, when there is one."""
    root = getattr(args, "workspace", None)
    if root is None and not os.environ.get("GIC_WORKSPACE") and not Path("workspace").is_dir():
        return Gp2Config(), None
    ws = open_workspace(args)
    config = ws.config.calibration
    files = MasterFiles(ws.path(config.masters_dir), config)
    return ws.config.gp2, masters_from_store(files)


@contextlib.contextmanager
def _client(args, config: Gp2Config):
    if args.local:
        yield None
        return
    if args.scheduler:
        config = Gp2Config(scheduler_address=args.scheduler)
    with open_client(config, n_workers=args.workers) as client:
        yield client


def _logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
    import distributed  # noqa: F401 - configures its loggers on import; quieten them after

    for name in (
        "distributed",
        "distributed.scheduler",
        "distributed.worker",
        "distributed.core",
        "distributed.nanny",
        "distributed.http.proxy",
        "distributed.utils_perf",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def _report(result: RunResult, output: Path) -> int:
    done = sum(1 for r in result.images if r.error is None)
    print(f"{done} image(s) processed, {len(result.failures)} left out; outputs in {output}")
    for files in result.summary_files.values():
        for kind, path in files.items():
            print(f"  {kind}: {path}")
    if result.transient:
        ra, dec, n = result.transient
        print(f"  transient at RA {ra:.6f} Dec {dec:.6f} (candidate in {n} image(s))")
    if result.decay:
        decay = result.decay
        print(
            f"  joint decay index (one α for every filter) {decay.index:.3f} ± {decay.index_err:.3f}"
        )
    for name, reason in result.failures:
        print(f"left out {name}: {reason}", file=sys.stderr)
    return 1 if result.failures else 0


def _run(args, plan: RunPlan, inputs, output: Path) -> int:
    config, masters = _workspace_parts(args)
    plan = dataclasses.replace(
        plan, keywords=HeaderKeywords.from_config(config), instrumental=args.instrumental
    )
    _logging()
    with _client(args, config) as client, progress_bar(f"gp2 {', '.join(plan.steps)}") as progress:
        result = run_burst(
            inputs, plan, output=output, client=client, progress=progress, masters=masters
        )
    return _report(result, output)


def module_run(args) -> int:
    if args.list:
        for name in STEPS:
            print(f"{name:12s} {MODULE_HELP[name]}")
        return 0
    if not args.name:
        raise UsageError("name a module (gic module --list lists them)")
    settings = read_module_config(args.config) if args.config else ModuleSettings()
    inputs = args.input or list(settings.input)
    output = args.output or settings.output
    if not inputs or not output:
        raise UsageError("give --input/-s and --output/-r (or [Input and Output] in --config)")
    return _run(args, RunPlan.for_module(args.name, settings, t0=args.t0), inputs, Path(output))


def pipeline_run(args) -> int:
    pipeline = read_pipeline_config(args.config)
    inputs = args.input or list(pipeline.input)
    output = args.output or pipeline.output
    if not inputs or not output:
        raise UsageError(
            f"{pipeline.source}: [Input and Output] input and output are needed (or -s/-r)"
        )
    return _run(args, RunPlan.from_pipeline(pipeline, t0=args.t0), inputs, Path(output))


def gp1_run(args) -> int:
    settings = read_gp1_config(args.config)
    config, masters = _workspace_parts(args)
    _logging()
    failed = 0

    def show(outcome) -> None:
        nonlocal failed
        failed += outcome.status != "processed"
        print(
            f"{outcome.status:9s} {outcome.instance or '-':16s} {outcome.path} "
            f"{outcome.reason}".rstrip()
        )

    with _client(args, config) as client:
        runner = Gp1Runner(
            settings, client=client, masters=masters, keywords=HeaderKeywords.from_config(config)
        )
        runner.watch(max_seconds=args.max_seconds, once=args.once, on_outcome=show)
    return 1 if failed else 0


def gp2_sync(args) -> int:
    from data_access.calibration.store import CalibrationStore
    from data_access.gp2.burst_frames import SyncBusy
    from data_access.gp2.runs import ReprocessStore
    from data_access.notifications import Notifier
    from data_access.products.sdb_client import SdbClient, SdbError
    from pipelines.burst_sync import sync_burst, sync_pending, tell_frames_ready

    if not args.burst_id and not args.pending:
        raise UsageError("name a burst (gic gp2 sync BURST_ID) or give --pending")
    ws = open_workspace(args)
    store, client = ReprocessStore.from_workspace(ws), SdbClient.from_config(ws.config.sdb)
    notifier = Notifier.from_workspace(ws)
    cache = ws.cache()  # opened beside the server, which may hold it too
    calibration = CalibrationStore.from_workspace(ws, cache)
    try:
        options = {"calibration": calibration, "on_ready": lambda r: tell_frames_ready(notifier, r)}
        reports = (
            sync_pending(store, client, **options)
            if args.pending
            else [sync_burst(args.burst_id, store=store, client=client, **options)]
        )
    except (SyncBusy, SdbError) as exc:
        print(f"gp2 sync: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
        cache.close()
    for report in reports:
        print(report.describe())
    return 1 if any(r.mismatches for r in reports) else 0
