"""The Reprocess views on the demo's generated burst (256 px, 8 frames), no browser: the
frames with telemetry and masters, a two-step run with its sources drawn, a full run with
its light curve and decay fits, two runs compared, a run saved as a product version whose
QTI fits are the page's."""

from __future__ import annotations

import json
import shutil
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest

from analysis.afterglow import broken_magnitude, fit_decay
from analysis.images import block_mean
from app.pages.reprocess import headline
from app.plots.images import plot_image
from app.plots.products import plot_light_curve
from app.plots.reprocess import plot_frame
from app.views.reprocess import ReprocessDesk
from app.views.reprocess_folders import frame_roots
from app.views.reprocess_frames import thumbnail_png
from app.views.reprocess_runs import RunView
from data_access.config import config_from_dict
from data_access.gp2.runs import ReprocessError
from data_access.stores import Stores
from data_access.telemetry.store import documents_in
from data_access.users import User
from demo.reprocess import DEMO_INDEX, build_reprocess_demo
from demo.telemetry import write_status_files
from pipelines.reprocess import alert_burst
from tests.app.bokeh_legend import legend_entries
from tests.app.shown import shown_text

TWO_STEPS = ["reduction", "findstars"]


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A workspace holding the demo burst, its alerts and the telemetry of its night."""
    opened = Stores.open(tmp_path_factory.mktemp("reprocess") / "ws")
    build_reprocess_demo(opened, days=2, progress=None)
    desk = ReprocessDesk.from_stores(opened)
    desk.folder = next(iter(desk.choices().values()))
    first = desk.images.images()["t_mid"].min().to_pydatetime() - timedelta(minutes=30)
    folder = opened.workspace.status_drop_dir
    opened.status.ingest(documents_in(write_status_files(folder, first, 0.1, dead_day=None)))
    yield opened
    opened.close()


@pytest.fixture
def desk(stores):
    made = ReprocessDesk.from_stores(stores, client_factory=lambda: None)
    made.folder = next(v for k, v in made.choices().items() if k.startswith("sb"))
    return made


@pytest.fixture(scope="module")
def full_run(stores):
    """The id of a run of every module of the burst's pipeline configuration."""
    made = ReprocessDesk.from_stores(stores)
    made.folder = next(v for k, v in made.choices().items() if k.startswith("sb"))
    return made.run_now()


def test_the_demo_burst_is_offered_with_its_frames(desk):
    labels = list(desk.choices())
    assert labels[0].startswith("sb") and labels[0].endswith("(8 images)")
    images = desk.images.images()
    assert len(images) == 8 and set(images["filter"]) == {"g", "i"}
    assert desk.t0().endswith("06:00:00.000")  # T0 from the alert
    assert thumbnail_png(desk.store.thumbnail(images["path"][0])).startswith(b"\x89PNG")
    header = desk.images.header()
    assert header.set_index("keyword").loc["TRGID", "value"] == desk.burst_id()
    assert desk.form.steps[0] == "reduction" and "summary" in desk.form.steps  # pipeline.cfg
    assert desk.form.widgets["gain"].value == 1.6


def test_telemetry_and_masters_of_each_exposure(desk):
    telemetry = desk.images.telemetry()
    assert len(telemetry) == 8
    temperatures = telemetry["detector temperature (C)"].astype(float)
    assert temperatures.between(-91, -89).all()  # the DDRAGO set point
    assert set(telemetry["dome"]) <= {"open", "closed", "opening", "closing"}
    masters = desk.images.masters()
    assert len(masters) == 2 * 3  # DDRAGO1 g and DDRAGO2 i, bias/dark/flat each
    assert (masters["status"] == "none on or before that night").all()


def test_a_two_step_run_draws_its_sources_over_the_reduced_frame(desk):
    desk.form.steps = TWO_STEPS
    run_id = desk.run_now()
    assert desk.run_id == run_id and desk.store.runs()["run_id"].iloc[0] == run_id
    sources = desk.result.sources()
    assert len(sources) > 20
    overlay = desk.result.frame_plot()
    points = [layer for layer in overlay if isinstance(layer, hv.Points)]
    assert [p.label for p in points] == ["alert position", "sources"]
    points = points[1:]
    drawn = points[0].dframe()
    assert np.allclose(np.sort(drawn["x"]), np.sort(sources["x"] + 0.5))
    image = next(layer for layer in overlay if isinstance(layer, hv.Image))
    assert image.bounds.lbrt() == (0, 0, 256, 256)
    assert desk.result.difference_plot() is None and desk.result.light_curve().empty
    hv.render(overlay)


def test_a_full_run_finds_the_transient_and_fits_the_decay(stores, full_run):
    desk = ReprocessDesk.from_stores(stores, client_factory=lambda: None, run_id=full_run)
    meta = desk.result.run.meta
    assert meta["transient"][2] == 8
    decay = meta["decay"]
    assert abs(decay["index"] - DEMO_INDEX) < 2 * decay["index_err"] + 0.05
    points = desk.result.light_curve()
    assert len(points) == 8 and points["detected"].all()
    assert (points["t_s"] > 0).all()
    candidates = desk.result.candidates()
    assert candidates["transient"].any()
    assert candidates[["x_frame", "y_frame"]].notna().all().all()
    fits = desk.result.decay_fits()
    assert set(fits) == set(points["filter"]) and all(fit.valid for fit in fits.values())
    curve = legend_entries(plot_light_curve(points, fits))
    seen = {f: r[-1].data_source.data for f, r in curve.items() if f in set(points["filter"])}
    assert sum(len(data["image_id"]) for data in seen.values()) == 8
    for name, fit in fits.items():
        assert abs(fit.index - DEMO_INDEX) < 2 * fit.index_err + 0.05
        [line] = curve[f"{name}: α = {fit.index:.2f} ± {fit.index_err:.2g}"]
        early = points.loc[points["filter"] == name, "t_s"].min()
        assert line.data_source.data["t_s"][0] == pytest.approx(early)
        assert line.data_source.data["mag"][0] == pytest.approx(fit.magnitude(early))
    summary = shown_text(pn.pane.Markdown(desk.result.summary()))
    assert f"Joint decay index (one α for every filter) α = {decay['index']:.3f}" in summary
    for name, fit in fits.items():
        assert f"{name}: α = {fit.index:.3f} ± {fit.index_err:.3f}" in summary
    assert isinstance(desk.result._light_curve(), pn.pane.Bokeh)
    hv.render(desk.result.difference_plot())


def test_two_runs_compared_and_a_run_saved_as_a_product(stores, full_run, desk):
    desk.form.steps = list(desk.form.pipeline.steps)
    desk.form.widgets["detect_thresh"].value = 5.0
    desk.run_id = full_run
    second = desk.run_now()
    assert desk.compare_id == full_run and desk.run_id == second
    differs = desk.comparison.parameters().set_index("item")
    assert differs.loc["detect_thresh"].tolist() == ["3.0", "5.0"]
    photometry = desk.comparison.photometry()
    assert len(photometry) == 8 and photometry["Δmag"].abs().max() < 0.1
    assert list(photometry.columns[:5]) == ["image_id", "filter", "mag_first", "mag_second", "Δmag"]
    per_filter = desk.comparison.by_filter().set_index("filter")
    assert per_filter["images"].to_dict() == {"g": 4, "i": 4}
    assert (per_filter["largest |Δmag|"] < 0.1).all()
    curves = desk.comparison.light_curves()
    assert set(curves["filter"]) == {"g, first", "g, second", "i, first", "i, second"}
    figure = desk.comparison._light_curves().object
    labels = list(legend_entries(figure))
    assert all(any(e.startswith(name) for e in labels) for name in ("g, first", "i, second"))
    built = desk.save_product()
    assert built["created"].all() and set(built["version"]) == {1}
    _, qti = stores.products.light_curve(desk.burst_id())
    shown = desk.result.decay_fits()
    assert sorted(qti["FILTER"]) == sorted(shown)
    for row in qti.itertuples():
        fit = shown[row.FILTER]
        assert (row.FITINDEX, row.ERFITINDEX, row.NFIT) == pytest.approx(
            (fit.index, fit.index_err, fit.n_points), rel=1e-9
        )
    assert "7 new version(s) [1]" in desk.message
    link = desk._review_link().object
    assert f'href="./products?burst={desk.burst_id()}"' in link and "Review queue of" in link
    assert len(stores.products.queue(desk.burst_id())) == 7
    desk.save_product()
    assert desk.message == "The products already hold this photometry."
    desk.fit_start_s = max(fit.t_first for fit in shown.values()) + 1.0  # the page's window
    desk.save_product()
    _, qti = stores.products.light_curve(desk.burst_id())
    assert (qti["TFITSTART"] >= desk.fit_start_s).all()
    assert sum(qti["NFIT"]) < sum(fit.n_points for fit in shown.values())


def test_a_run_in_a_thread_reports_its_progress(desk):
    desk.form.steps = ["reduction"]
    desk.start()
    assert desk.running
    deadline = time.monotonic() + 60
    while desk.poll() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not desk.running and desk.progress == 100 and desk.run_id
    assert desk.message == f"Run {desk.run_id} done."


def test_a_run_that_breaks_says_so_in_words_and_logs_the_traceback(desk, monkeypatch, caplog):
    def broken(plan, run_id, folder):
        raise KeyError("path")

    monkeypatch.setattr(desk, "_execute", broken)
    desk.start()
    deadline = time.monotonic() + 30
    while desk.poll() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert desk.failed and desk.message.startswith("The run failed: an unexpected error")
    assert "KeyError" not in desk.message and "path" not in desk.message
    assert "gic.reprocess" in desk.message  # where the traceback is
    [record] = [r for r in caplog.records if r.name == "gic.reprocess"]
    assert record.exc_info[0] is KeyError and record.levelname == "ERROR"


def test_roles_and_bad_requests_are_refused_with_a_message(stores, desk):
    viewer = ReprocessDesk.from_stores(stores, user=User("bob", ("viewer",)))
    viewer.folder = desk.folder
    viewer._run_clicked()
    assert "bob may not reprocess: it needs the scientist role" in viewer.message
    empty = ReprocessDesk.from_stores(stores)
    with pytest.raises(ReprocessError, match="pick a burst or a folder"):
        empty.run_now()
    desk.form.steps = []
    with pytest.raises(ValueError, match="choose at least one step"):
        desk.run_now()
    with pytest.raises(ReprocessError, match="no such finished run"):
        desk.store.load("20990101T000000_none")
    with pytest.raises(ReprocessError, match="not a run id"):
        desk.store.load("../escape")


@pytest.mark.parametrize(
    "asked",
    [
        "/etc",
        "../..",
        "/",
        "{input}/../..",
        "{input}/./{name}",
        "{input}/{name}/",
        "<img src=x onerror=alert(1)>",
    ],
)
def test_a_folder_outside_the_workspace_is_refused_and_nothing_listed(stores, desk, asked):
    chosen = Path(desk.folder)
    asked = asked.format(input=chosen.parent, name=chosen.name)
    desk.folder = asked
    assert desk.images.folder == "" and desk.images.images().empty and desk.failed
    assert "is not one of the workspace's folders of frames" in desk.message
    message = shown_text(desk._message())
    assert asked in message and "pick a burst or a folder in the list" in message
    with pytest.raises(ReprocessError, match="not one of the workspace's folders"):
        desk.run_now()
    desk.folder = str(chosen)  # a folder of the list is shown again, the refusal gone
    assert len(desk.images.images()) == 8 and not desk.failed and not desk.message


def test_frame_roots_add_their_folders_and_only_them(stores, desk, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "night1"
    shutil.copytree(desk.folder, elsewhere)
    assert str(elsewhere) not in ReprocessDesk.from_stores(stores).choices().values()
    roots = (tmp_path / "elsewhere", tmp_path / "missing")
    rooted = ReprocessDesk(stores.reprocess, alerts=stores.alerts, frame_roots=roots)
    labels = {path: label for label, path in rooted.choices().items()}
    assert labels[str(elsewhere)].endswith("(8 images, in elsewhere)")
    rooted.folder = str(elsewhere)
    assert len(rooted.images.images()) == 8 and not rooted.failed
    rooted.folder = str(tmp_path)  # the root itself is not one of its folders
    assert rooted.failed and rooted.images.images().empty
    config = config_from_dict({"gp2": {"frame_roots": ["extra", "/data/frames"]}})
    workspace = SimpleNamespace(root=tmp_path / "ws", config=config)
    assert frame_roots(workspace) == (tmp_path / "ws" / "extra", Path("/data/frames"))


def test_display_images_keep_frame_coordinates():
    frame = np.arange(2048 * 1536, dtype=np.float32).reshape(1536, 2048)
    kept = block_mean(frame)
    assert kept.shape == (768, 1024)
    image = plot_image(kept, title="t", block=2)
    assert image.bounds.lbrt() == (0, 0, 2048, 1536)
    sources = pd.DataFrame({"x": [10.0], "y": [20.0]})
    overlay = plot_frame(kept, block=2, title="t", sources=sources)
    assert overlay.get(1).dframe()[["x", "y"]].values.tolist() == [[10.5, 20.5]]


def test_headline(stores, full_run):
    line = headline(stores)
    newest = stores.reprocess.runs()["run_id"][0]
    assert "folders of frames" in line and f"newest run {newest}" in line


def test_header_values_from_outside_stay_text_in_the_thumbnails(desk, tmp_path):
    from astropy.io import fits

    from app.views.reprocess_frames import FolderImages
    from data_access.gp2.runs import ReprocessStore
    from tests.app.shown import pane_html, parse

    hostile = "'><img src=x onerror=alert(1)>"
    folder = tmp_path / "in" / "hostile"
    folder.mkdir(parents=True)
    frame = Path(desk.images.images()["path"].iloc[0])
    with fits.open(frame) as hdul:
        hdul[0].header["FILTER"] = hostile
        hdul.writeto(folder / "a'b<i>.fits")
    images = FolderImages(ReprocessStore(tmp_path / "in", tmp_path / "runs"), folder=str(folder))
    [card] = images._thumbnails().objects
    parsed = parse(pane_html(card))
    assert [tag for tag, _ in parsed.elements] == ["figure", "img", "figcaption"]
    attributes = parsed.elements[1][1]
    assert attributes["alt"] == attributes["title"] == "a'b<i>"  # the frame's name
    assert parsed.text.startswith(hostile + " ")


def test_a_preferred_broken_fit_is_said_with_both_indices_and_the_break():
    t = np.geomspace(60.0, 5e5, 30)
    fit = fit_decay(t, broken_magnitude(t, 17.0, np.log10(8000.0), 0.6, 1.7), np.full(30, 0.05))
    said = shown_text(pn.pane.Markdown(RunView._fit_line("r", fit)))
    assert "broken power law preferred (BIC): α₁ = 0.600" in said and "α₂ = 1.700" in said
    assert "break at 8000" in said


def test_a_wrong_folder_is_said_in_words_when_it_is_entered(stores, desk, tmp_path):
    from astropy.io import fits

    frame = Path(desk.images.images()["path"].iloc[0])
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file.txt").write_text("not a folder")
    (tmp_path / "nofilter").mkdir()
    with fits.open(frame) as hdul:
        del hdul[0].header["FILTER"]
        hdul.writeto(tmp_path / "nofilter" / "f1.fits")
    rooted = ReprocessDesk(stores.reprocess, alerts=stores.alerts, frame_roots=(tmp_path,))
    said = {
        "missing": "does not exist: check the path",
        "a_file.txt": "is a file, not a folder",
        "empty": "holds no FITS frame (no file ending .fits",
        "nofilter": "holds 1 FITS file(s) but no frame GP2 can read: f1.fits: header keyword "
        "FILTER is missing (expected the filter; [gp2] filter_key names the keyword)",
    }
    for name, words in said.items():
        rooted.folder = str(tmp_path / name)
        assert rooted.failed and words in rooted.message, rooted.message
        assert "KeyError" not in rooted.message and rooted.images.images().empty
        with pytest.raises(ReprocessError, match="folder|FITS"):
            rooted.run_now()


def test_each_parameter_says_what_it_is_its_unit_and_its_default(desk):
    import dataclasses

    from analysis.gp2.parameters import PARAMETER_HELP
    from data_access.gp2.config import Parameters

    assert set(PARAMETER_HELP) == {f.name for f in dataclasses.fields(Parameters)}
    widgets = desk.form.widgets
    assert widgets["ps"].name == "ps (deg/pixel)"
    assert widgets["aperture"].name == "aperture (FWHM)"
    assert widgets["cr_objlim"].name == "cr_objlim"  # a ratio: no unit
    assert widgets["cr_objlim"].description.startswith("L.A.Cosmic contrast limit")
    default = desk.form.defaults.match_radius
    assert widgets["match_radius"].description.endswith(f"Default: {default} arcsec.")
    assert "Default: none" in widgets["target_ra"].description
    assert isinstance(desk.controls(), pn.Column)  # the sidebar builds with its help


def test_a_running_reprocessing_can_be_stopped_and_is_recorded_as_stopped(desk):
    with pytest.raises(ReprocessError, match="no run is running"):
        desk.stop()
    desk.form.steps = list(desk.form.pipeline.steps)
    runs_before = len(desk.store.runs())
    desk.start()
    desk.stop()
    assert desk.message == "Stopping the run…"
    deadline = time.monotonic() + 60
    while desk.poll() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not desk.running and not desk.failed
    assert "stopped on request" in desk.message and "recorded as stopped" in desk.message
    run_id = desk.message.split()[1]
    record = json.loads((desk.store.runs_dir / run_id / "stopped.json").read_text("utf-8"))
    assert record["status"] == "stopped" and record["steps"] == list(desk.form.steps)
    assert not (desk.store.runs_dir / run_id / "output").exists()
    assert len(desk.store.runs()) == runs_before  # not listed as a finished run


def test_a_stop_cancels_the_tasks_submitted_to_dask(tmp_path):
    import threading

    from distributed import Client

    from pipelines.gp2.runner import RunStopped, _Executor

    stop = threading.Event()
    with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as c:
        executor = _Executor(c, None, 2, stop)
        slow = executor.submit(time.sleep, 5)
        stop.set()
        with pytest.raises(RunStopped, match="stopped on request"):
            executor.gather([slow])
        with pytest.raises(RunStopped):
            executor.submit(time.sleep, 0)
        assert slow.cancelled()


def test_a_frame_with_a_wcs_is_shown_in_ra_dec_with_the_alert_and_its_error_circle(
    stores, full_run
):
    desk = ReprocessDesk.from_stores(stores, client_factory=lambda: None, run_id=full_run)
    wcs = desk.result.frame_wcs()
    assert wcs is not None  # the demo frames carry a TAN WCS
    ra, dec, error = desk.result.alert_position()
    burst = alert_burst(stores.alerts, desk.result.run.meta["burst_id"])
    assert (ra, dec) == pytest.approx((burst.ra_deg, burst.dec_deg)) and error > 0
    overlay = desk.result.frame_plot()
    image = overlay.get(0)
    assert [d.name for d in image.vdims] == ["e-", "RA (deg)", "Dec (deg)"]
    table = image.dframe()
    x, y = (float(v) + 0.5 for v in wcs.world_to_pixel_values(ra, dec))
    nearest = table.iloc[((table["x"] - x) ** 2 + (table["y"] - y) ** 2).idxmin()]
    assert nearest["RA (deg)"] == pytest.approx(ra, abs=0.01)
    assert nearest["Dec (deg)"] == pytest.approx(dec, abs=0.01)
    [circle] = [layer for layer in overlay.traverse(lambda e: e, [hv.Ellipse])]
    assert (circle.x, circle.y) == pytest.approx((x, y))
    hv.render(overlay)


def test_difference_and_compared_images_are_in_ra_dec_with_the_alert(stores, full_run):
    desk = ReprocessDesk.from_stores(stores, client_factory=lambda: None, run_id=full_run)
    name = desk.result.image
    wcs = desk.result.run.display_wcs(name, "difference")
    assert wcs is not None  # the aligned grid's, kept with the difference image
    ra, dec, _ = desk.result.alert_position()
    desk.compare_id = full_run
    compared = desk.comparison._differences().objects
    overlays = [desk.result.difference_plot(), *(pane.object for pane in compared)]
    assert len(overlays) == 3
    x, y = (float(v) + 0.5 for v in wcs.world_to_pixel_values(ra, dec))
    for overlay in overlays:
        image = overlay.get(0)
        assert [d.name for d in image.vdims] == ["e-", "RA (deg)", "Dec (deg)"]
        [circle] = overlay.traverse(lambda e: e, [hv.Ellipse])
        assert (circle.x, circle.y) == pytest.approx((x, y))
    transient = desk.result.candidates().query("transient").iloc[0]
    table = overlays[0].get(0).dframe()
    nearest = table.iloc[
        ((table["x"] - transient["x"]) ** 2 + (table["y"] - transient["y"]) ** 2).idxmin()
    ]
    assert nearest["RA (deg)"] == pytest.approx(transient["ra"], abs=0.01)
    assert nearest["Dec (deg)"] == pytest.approx(transient["dec"], abs=0.01)
    hv.render(overlays[1])


def test_the_error_circle_has_the_radius_of_the_error_in_pixels():
    from astropy.wcs import WCS

    from app.plots.images import plot_image, plot_sky_circle

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval, wcs.wcs.crpix, wcs.wcs.cdelt = [150.0, 2.0], [51.0, 51.0], [-0.001, 0.001]
    circle = plot_sky_circle(wcs, 150.0, 2.0, 0.01, label="alert")
    points, ellipse = circle.get(0), circle.get(1)
    assert points.dframe()[["x", "y"]].values.tolist() == [pytest.approx([50.5, 50.5])]  # 0-based
    assert ellipse.width == pytest.approx(20.0)  # 2 × 0.01° / 0.001° per pixel
    image = plot_image(np.zeros((100, 100)), title="t", wcs=wcs)
    corner = image.dframe().iloc[0]
    assert (corner["x"], corner["y"]) == (0.5, 0.5)
    assert corner["RA (deg)"] > 150.0 and corner["Dec (deg)"] < 2.0  # east is left
    assert plot_image(np.zeros((4, 4)), title="t").vdims[0].name == "value"
