"""The one table of COLIBRI's cameras and filters."""

from __future__ import annotations

import pytest

from analysis.colibri import (
    BURST_CAMERA,
    BURST_FILTERS,
    CAMERAS,
    FILTER_COLORS,
    FILTERS,
    OTHER_FILTER_COLORS,
    burst_camera,
    filter_color,
    product_filter,
)


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


#: The eight colours of Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
}


def test_every_filter_has_its_own_colour_blind_safe_colour():
    assert set(FILTER_COLORS) == set(FILTERS)
    assert len(set(FILTER_COLORS.values())) == len(FILTERS)
    assert set(FILTER_COLORS.values()) | set(OTHER_FILTER_COLORS) <= OKABE_ITO | {"#999999"}
    assert filter_color("r") == FILTER_COLORS["r"] != filter_color("i")
    assert filter_color("Y", 0) != filter_color("w", 1)


def test_filter_names_of_other_instruments_map_to_the_products_codes():
    for name in ("unfiltered", "UVOT-white", "clear", "Clear", " white ", "CR"):
        assert product_filter(name) == "w", name
    assert [product_filter(n) for n in ("r", "r'", "J", "F850LP")] == ["r", "r", "J", "F850LP"]
    assert product_filter("a-very-long-filter-name") == "a-very-l"  # the card's 8 characters
