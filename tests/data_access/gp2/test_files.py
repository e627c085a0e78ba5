"""GP2's frames read with the header keywords of ``[gp2]``: the defaults, renamed ones, and
an error naming the file and the keyword when a frame lacks one."""

from __future__ import annotations

import pytest

from data_access.config import Gp2Config, config_from_dict
from data_access.fits_frames import FrameError
from data_access.gp2.files import describe_image
from data_access.gp2.records import HeaderKeywords, RunPlan


def test_the_keywords_come_from_gic_toml_and_default_to_its_defaults():
    assert HeaderKeywords.from_config(Gp2Config()) == HeaderKeywords()
    config = config_from_dict({"gp2": {"filter_key": "FILTERS", "exptime_key": "EXPOSURE"}})
    keywords = HeaderKeywords.from_config(config.gp2)
    assert (keywords.filter, keywords.exptime, keywords.saturate) == (
        "FILTERS",
        "EXPOSURE",
        "SATURATE",
    )
    assert RunPlan(("findstars",)).keywords == HeaderKeywords()


@pytest.fixture
def saao_frame(shared_data):
    return shared_data / "fits" / "saao_1m_ste3" / "a8280271.fits"


def test_a_real_frame_whose_filter_keyword_is_filters(saao_frame):
    """The SAAO 1.0 m frame names its filter wheel FILTERS (10*A+B) and has no FILTER."""
    with pytest.raises(FrameError, match=r"a8280271\.fits: header keyword FILTER is missing"):
        describe_image(saao_frame)
    info = describe_image(saao_frame, HeaderKeywords(filter="FILTERS"))
    assert (info.filter, info.instrument, info.exptime) == ("48", "STE3 CCD", 150.04)
    assert info.t_start.startswith("2013-07-13")
