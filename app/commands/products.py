"""GFT products: ``gic products compile|build|list|show|validate|approve|reject|diff|audit``.

``compile`` and ``validate`` work on files alone; the others use the workspace
(products under ``WORKSPACE/products/<burst ID>/``, states in the cache). The exchange with
the SDB (``push``, ``clear-warning``, ``pull``, ``coherence``, ``archive``) and ``gic sandbox
serve`` are in :mod:`app.commands.products_sdb`.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from astropy.time import Time

from analysis.products.builders import afterglow_fits
from analysis.products.photometry import Burst
from analysis.products.settings import fit_window
from analysis.products.validate import validate_product
from app.commands.common import UsageError, open_workspace, write_frame
from app.commands.product_targets import FORMATS, acting_user, target_arguments, targets
from app.commands.products_sdb import register_sandbox, register_sdb
from data_access.calibration.impact import record_product_run
from data_access.products.files import (
    DescriptorLibrary,
    ProductFileError,
    compile_descriptor_files,
    read_photometry_file,
    read_product_file,
)
from data_access.safe_files import write_atomic
from data_access.stores import Stores


def register(subparsers, groups) -> None:
    products = subparsers.add_parser(
        "products",
        help="GFT products: build, validate, review, push to and pull from the SDB",
        description="The seven GFT products (DT, QF, PO, LC, QLC, QTI, META) of a burst: "
        "descriptors compiled from TSV, built from the burst's photometry, checked against their "
        "descriptor, approved or rejected, pushed to the SDB import API, pulled from the "
        "export API.",
    )
    what = products.add_subparsers(dest="what", metavar="WHAT", required=True)
    _register_files(what)
    _register_review(what)
    register_sdb(what)
    register_sandbox(subparsers)


def _register_files(what) -> None:
    compile_ = what.add_parser(
        "compile",
        help="compile product TSVs into JSON descriptors and FITS templates",
        description="A product TSV writes <CARD>.json and the empty template <CARD>.fits; an "
        "import metadata TSV writes sdb_upload_<name>.json; a shared keyword set is checked. "
        "Imported sets "
        "are read beside the TSV. Errors name the file, the line and the keyword.",
    )
    compile_.add_argument("tsv", nargs="+", metavar="TSV")
    compile_.add_argument("--output", required=True, metavar="DIR")
    compile_.set_defaults(handler=products_compile)

    build = what.add_parser(
        "build",
        help="build a burst's seven products from its photometry",
        description="Build DT, QF, PO, LC, QLC, QTI and META into WORKSPACE/products/<burst>/. "
        "T0 and "
        "the position come from --t0/--ra/--dec, else from the burst's alerts in the cache.",
    )
    build.add_argument("--burst", required=True, metavar="ID")
    build.add_argument(
        "--photometry",
        required=True,
        metavar="CSV",
        help="image_id,filter,t_start,t_end,exptime,mag,mag_err,limit_mag,detected,ra,dec",
    )
    build.add_argument("--t0", metavar="ISO", help="trigger time T0, ISO UTC")
    build.add_argument("--ra", type=float, metavar="DEG")
    build.add_argument("--dec", type=float, metavar="DEG")
    build.add_argument("--error", type=float, default=0.0, metavar="DEG", help="alert error radius")
    build.add_argument(
        "--fit-start",
        type=float,
        metavar="S",
        help="start of the decay fits' window, s after T0 (default: [products] fit_start_s)",
    )
    build.add_argument(
        "--fit-stop",
        type=float,
        metavar="S",
        help="end of the window, s after T0; 0 = no end (default: [products] fit_stop_s)",
    )
    build.add_argument(
        "--fits",
        metavar="JSON",
        help="also write the decay fits (single and broken power law per filter) to this file",
    )
    build.add_argument("--user", default=None, help="default: the login name")
    build.add_argument("--format", choices=FORMATS, default="table")
    build.set_defaults(handler=products_build)

    validate = what.add_parser(
        "validate",
        help="check product files against their descriptor",
        description="The concordance JSON/FITS: every keyword and column with its type and unit, "
        "required values set, no NaN. Prints every deviation; exit 1 if any.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument(
        "--descriptors", metavar="DIR", help="JSON descriptors (default: shipped)"
    )
    validate.add_argument("--template", action="store_true", help="the files are empty templates")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.set_defaults(handler=products_validate)


def _register_review(what) -> None:
    listing = what.add_parser(
        "list",
        help="the review queue: products and their state",
        description="The latest version of each product with its state "
        "(new, approved, rejected, pushing, pushed, push failed).",
    )
    listing.add_argument("--burst", metavar="ID")
    listing.add_argument("--all-versions", action="store_true")
    listing.add_argument("--format", choices=FORMATS, default="table")
    listing.set_defaults(handler=products_list)

    for name, text in (("approve", "approve products for pushing"), ("reject", "reject products")):
        action = what.add_parser(
            name,
            help=text,
            description=f"{text.capitalize()}: by product id, "
            "or the latest version of --card of --burst. Logged with the user.",
        )
        target_arguments(action)
        action.add_argument("--comment", default="")
        action.set_defaults(handler=products_review, action=name)

    diff = what.add_parser(
        "diff",
        help="what changed between two versions",
        description="Header values, rows and cells that differ.",
    )
    diff.add_argument("old", type=int, metavar="OLD_ID")
    diff.add_argument("new", type=int, metavar="NEW_ID")
    diff.add_argument("--format", choices=FORMATS, default="table")
    diff.set_defaults(handler=products_diff)

    audit = what.add_parser(
        "audit",
        help="who did what to the products",
        description="The audit log: action, user, time, comment.",
    )
    audit.add_argument("--burst", metavar="ID")
    audit.add_argument("--format", choices=FORMATS, default="table")
    audit.set_defaults(handler=products_audit)


# -- handlers ---------------------------------------------------------------------------
def products_compile(args) -> int:
    for compiled in compile_descriptor_files([Path(t) for t in args.tsv], Path(args.output)):
        outputs = ", ".join(str(o) for o in compiled.outputs) or "checked"
        print(f"{compiled.source}: {compiled.kind}: {outputs}")
    return 0


def _burst_from_alerts(stores: Stores, burst_id: str) -> Burst:
    alerts = stores.alerts.alerts(burst_id=burst_id)
    usable = alerts.dropna(subset=["t0", "ra", "dec"]) if not alerts.empty else alerts
    if usable.empty:
        raise UsageError(
            f"no alert of burst {burst_id} gives T0 and a position; pass --t0, --ra, --dec"
        )
    best = usable.sort_values("error_deg", na_position="last").iloc[0]
    error = float(best["error_deg"]) if not math.isnan(best["error_deg"]) else 0.0
    t0 = Time(best["t0"].to_pydatetime(), scale="utc")
    return Burst(burst_id, t0, float(best["ra"]), float(best["dec"]), error)


def _burst(stores: Stores, args) -> Burst:
    given = [args.t0 is not None, args.ra is not None, args.dec is not None]
    if any(given) and not all(given):
        raise UsageError("give all of --t0, --ra and --dec, or none (then the alerts are used)")
    if not any(given):
        return _burst_from_alerts(stores, args.burst)
    try:
        t0 = Time(args.t0, format="isot", scale="utc")
    except ValueError:
        raise UsageError(f"--t0 {args.t0!r} is not an ISO UTC time (YYYY-MM-DDTHH:MM:SS)") from None
    return Burst(args.burst, t0, args.ra, args.dec, args.error)


def _fit_window(args, config) -> tuple[float, float] | None:
    """The fit window of the options, each bound not given taken from [products]."""
    start = config.fit_start_s if args.fit_start is None else args.fit_start
    stop = config.fit_stop_s if args.fit_stop is None else args.fit_stop
    try:
        return fit_window(start, stop)
    except ValueError as exc:
        raise UsageError(f"--fit-start/--fit-stop: {exc}") from None


def products_build(args) -> int:
    photometry = read_photometry_file(Path(args.photometry))
    workspace = open_workspace(args)
    window = _fit_window(args, workspace.config.products)
    stores = Stores(workspace)
    try:
        burst = _burst(stores, args)
        built = stores.products.build(
            burst,
            photometry,
            user=acting_user(args),
            comment=f"from {Path(args.photometry).name}",
            fit_window_s=window,
        )
        run_id = stores.reprocess.run_of(args.photometry)
        if run_id is not None:  # a GP2 run's photometry: its masters went into the products
            record_product_run(stores.cache, run_id, built["product_id"])
        if args.fits:
            fits = afterglow_fits(photometry, burst, window_s=window)
            target = Path(args.fits)
            write_atomic(target.parent, target.name, (json.dumps(fits, indent=2) + "\n").encode())
        write_frame(built, args.format)
        return 1 if (built["n_deviations"] > 0).any() else 0
    finally:
        stores.close()


def products_validate(args) -> int:
    library = DescriptorLibrary(Path(args.descriptors)) if args.descriptors else DescriptorLibrary()
    reports, failed = [], False
    for name in args.files:
        try:
            hdul = read_product_file(Path(name))
            report = validate_product(hdul, library.for_file(hdul, name), template=args.template)
        except ProductFileError as exc:
            reports.append({"file": name, "valid": False, "deviations": [str(exc)]})
            failed = True
            continue
        failed |= not report.valid
        reports.append(
            {
                "file": name,
                "valid": report.valid,
                "card": report.card,
                "deviations": [str(d) for d in report.deviations],
            }
        )
    if args.format == "json":
        json.dump(reports, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for report in reports:
            print(f"{report['file']}: {'valid' if report['valid'] else 'INVALID'}")
            for deviation in report["deviations"]:
                print(f"  {deviation}")
    return 1 if failed else 0


def products_list(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        write_frame(stores.products.queue(args.burst, all_versions=args.all_versions), args.format)
    finally:
        stores.close()
    return 0


def products_review(args) -> int:
    stores = Stores(open_workspace(args))
    try:
        review = stores.products.review
        act = review.approve if args.action == "approve" else review.reject
        for product_id in targets(stores, args):
            record = act(product_id, user=acting_user(args), comment=args.comment)
            print(f"{record['file_name']}: {record['state']}")
    finally:
        stores.close()
    return 0


def products_diff(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        write_frame(stores.products.diff(args.old, args.new), args.format)
    finally:
        stores.close()
    return 0


def products_audit(args) -> int:
    stores = Stores(open_workspace(args), read_only=True)
    try:
        write_frame(stores.products.audit(args.burst), args.format)
    finally:
        stores.close()
    return 0
