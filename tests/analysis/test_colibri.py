"""The one table of COLIBRI's cameras and filters."""

from __future__ import annotations

import pytest

from analysis.colibri import BURST_CAMERA, BURST_FILTERS, CAMERAS, FILTERS, burst_camera


def test_each_camera_observes_in_a_burst_only_filters_it_carries():
    assert set(BURST_FILTERS) == set(CAMERAS)
    for camera, names in BURST_FILTERS.items():
        assert set(names) <= set(CAMERAS[camera])


def test_every_filter_has_one_camera_in_a_burst():
    assert FILTERS == ("g", "r", "i", "z", "J", "H")
    assert set(FILTERS) == {f for names in CAMERAS.values() for f in names}
    assert [burst_camera(f) for f in ("g", "r", "i", "z")] == ["DDRAGO1"] * 2 + ["DDRAGO2"] * 2
    assert BURST_CAMERA["J"] == BURST_CAMERA["H"] == "CAGIRE"


def test_an_unknown_filter_is_named():
    with pytest.raises(ValueError, match="'Y'"):
        burst_camera("Y")
