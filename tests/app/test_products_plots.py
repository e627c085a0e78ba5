"""The light-curve plot draws the broken power law where the BIC prefers it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.afterglow import broken_magnitude, fit_decay, fit_filters
from app.plots.products import plot_light_curve
from tests.app.bokeh_legend import legend_entries

T_S = np.concatenate([np.geomspace(60.0, 6000.0, 20), np.geomspace(1.2e4, 5e5, 14)])
MAG = broken_magnitude(T_S, 17.0, np.log10(8000.0), 0.6, 1.7)


def points() -> pd.DataFrame:
    n = len(T_S)
    return pd.DataFrame(
        {
            "filter": ["r"] * n,
            "t_s": T_S,
            "mag": MAG,
            "mag_err": np.full(n, 0.05),
            "detected": np.ones(n, dtype=bool),
            "limit_mag": np.full(n, 21.0),
        }
    )


def qti_row(**columns) -> pd.DataFrame:
    return pd.DataFrame({name: [value] for name, value in columns.items()})


def test_a_run_whose_broken_fit_is_preferred_shows_both_indices_and_the_break():
    fits = fit_filters(T_S, MAG, np.full(len(T_S), 0.05), ["r"] * len(T_S))
    broken = fits["r"].broken
    [label] = [k for k in legend_entries(plot_light_curve(points(), fits)) if "α₁" in k]
    assert label.startswith(f"r: α₁ = {broken.index1:.2f} ± {broken.index1_err:.2g}")
    assert f"t_b = {broken.t_break:.3g}" in label and label.endswith("(broken, BIC)")
    [line] = legend_entries(plot_light_curve(points(), fits))[label]
    assert line.data_source.data["mag"][0] == pytest.approx(MAG[0], abs=1e-6)


def test_a_qti_table_gets_the_broken_fit_of_its_window_from_the_points():
    single = fit_decay(T_S, MAG, np.full(len(T_S), 0.05))
    table = qti_row(
        FILTER="r",
        NFIT=single.n_points,
        TFITSTART=single.t_first,
        TFITSTOP=single.t_last,
        FITNORM=single.norm_ujy,
        FITINDEX=single.index,
        ERFITINDEX=single.index_err,
        FITCHI2=single.chi2,
        FITCHI2R=single.chi2_reduced,
        FITVALID=1,
    )
    entries = legend_entries(plot_light_curve(points(), table))
    assert any(label.endswith("(broken, BIC)") for label in entries)
    assert not any(label.startswith("r: α = ") for label in entries)
