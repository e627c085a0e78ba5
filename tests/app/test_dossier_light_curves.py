"""A burst's GP2 runs in its dossier: each run's light curve drawn, one colour per filter; and
the Reprocess page's run linking to the burst's dossier."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import panel as pn
from bokeh.models import Scatter

from analysis.colibri import FILTER_COLORS
from app.markup import burst_link
from app.plots.dossier import plot_run_light_curve
from app.views.dossier import dossier_sections
from app.views.reprocess_runs import RunView
from pipelines.dossier import burst_dossier
from tests.analysis.test_voevent import make_packet

BURST = "sb26120101"
T0 = "2026-12-01T03:00:00"
RUN = "20261201T040000_sb26120101"


def light_curve() -> pd.DataFrame:
    starts = ["2026-12-01T03:01:00", "2026-12-01T03:02:00", "2026-12-01T03:03:00"]
    return pd.DataFrame(
        {
            "image_id": ["a", "b", "c"],
            "filter": ["g", "r", "r"],
            "t_start": starts,
            "t_end": [s[:-2] + "30" for s in starts],
            "mag": [16.0, 16.2, 20.1],
            "mag_err": [0.05, 0.06, 0.0],
            "detected": [1, 1, 0],
            "limit_mag": [19.0, 19.0, 20.1],
        }
    )


def write_run(runs_dir, *, t0: str) -> None:
    folder = runs_dir / RUN
    folder.mkdir(parents=True)
    meta = {
        "run_id": RUN,
        "source": "folder",
        "burst_id": BURST,
        "t0": t0,
        "steps": ["summary"],
        "chain": ["summary"],
        "images": [],
        "failures": [],
        "started_at": "2026-12-01T04:00:00+00:00",
        "finished_at": "2026-12-01T04:01:00+00:00",
        "user": "ana",
    }
    (folder / "run.json").write_text(json.dumps(meta))
    light_curve().to_csv(folder / "photometry.csv", index=False)


def test_each_run_of_the_burst_has_its_light_curve_drawn_per_filter(stores):
    stores.alerts.store(
        make_packet(f"ivo://org.svom/fsc#{BURST}", burst_id=BURST, t0=T0),
        received_at=datetime(2026, 12, 1, 3, 1, tzinfo=UTC),
    )
    write_run(stores.reprocess.runs_dir, t0=T0)
    dossier = burst_dossier(stores, BURST, at=datetime(2026, 12, 1, 5, tzinfo=UTC))
    assert list(dossier.runs["t0"]) == [T0] and len(dossier.light_curves[RUN]) == 3
    plots = [s.object for s in dossier_sections(dossier) if isinstance(s, pn.pane.Bokeh)]
    [plot] = [p for p in plots if p.title.text == f"run {RUN}: light curve"]
    colors = {r.glyph.fill_color for r in plot.renderers if isinstance(r.glyph, Scatter)}
    assert colors == {FILTER_COLORS["g"], FILTER_COLORS["r"]}
    assert json.loads(json.dumps(dossier.to_dict()))["light_curves"][RUN][0]["image_id"] == "a"


def test_a_run_without_a_t0_has_no_plot():
    assert plot_run_light_curve(light_curve(), "", run_id=RUN) is None
    figure = plot_run_light_curve(light_curve(), T0, run_id=RUN)
    assert figure.title.text == f"run {RUN}: light curve"


def test_the_reprocess_pages_run_links_its_burst_to_the_dossier(stores):
    write_run(stores.reprocess.runs_dir, t0=T0)
    summary = RunView(stores.reprocess, run_id=RUN).summary()
    assert f"({burst_link(BURST)}) by ana" in summary
