"""The contract of the CDB's calibration links document."""

from __future__ import annotations

from datetime import date

import pytest

from analysis.calibration.links import LinksError, parse_links

SHA = "sha256:" + "ab" * 32


def entry(**changes):
    base = {
        "url": "https://cdb.example/frames/bias_01.fits",
        "night": "20250301",
        "instrument": "DDRAGO1",
        "type": "BIAS",
        "exptime_s": 0,
        "size_bytes": 17280,
        "checksum": SHA.upper().replace("SHA256", "sha256"),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_list_and_an_object_with_frames_give_the_same_links():
    [link] = parse_links([entry()], "links.json")
    assert link.name == "bias_01.fits" and link.night == date(2025, 3, 1)
    assert link.caltype == "bias" and link.filter is None and link.is_url
    assert link.checksum == SHA  # lower case
    [same] = parse_links({"night": "2025-03-01", "frames": [entry(night=None)]}, "links.json")
    assert same == link
    assert link.to_dict()["night"] == "20250301"


def test_a_path_on_mounted_storage_and_a_repeated_entry():
    e = entry(url=None, path="/cdb/20250301/flat_g_01.fits.fz", type="flat", filter="g")
    links = parse_links([e, e], "links.json")
    assert len(links) == 1 and not links[0].is_url and links[0].name == "flat_g_01.fits.fz"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"frames": 3}, "not a list of frames"),
        ("text", "not a list of frames"),
        ([entry(url=None)], "frame 0: needs exactly one of 'url' and 'path'"),
        ([entry(path="/x.fits")], "needs exactly one"),
        ([entry(url="ftp://cdb/x.fits")], "is not an http or https address"),
        ([entry(url=None, path="relative/x.fits")], "is not an absolute path"),
        ([entry(url="https://cdb/x.txt")], "is not a FITS frame"),
        ([entry(type="light")], "type 'light' is not one of bias, dark, flat"),
        ([entry(type="flat")], "filter None is not a non-empty text"),
        ([entry(instrument=" ")], "instrument ' ' is not a non-empty text"),
        ([entry(exptime_s=-1)], "exptime_s -1 is not a number of seconds >= 0"),
        ([entry(exptime_s=True)], "exptime_s True"),
        ([entry(size_bytes=0)], "size_bytes 0 is not a whole number"),
        ([entry(checksum="sha256:12")], "is not 'sha256:HEX' or 'md5:HEX'"),
        ([entry(night="2025-13-01")], "night '2025-13-01' is not YYYYMMDD"),
        ([entry(colour="red")], "unknown key 'colour'"),
        ([entry(), entry(size_bytes=1)], "frame 1: file name 'bias_01.fits' already given"),
        (["x"], "frame 0: not an object"),
    ],
)
def test_a_bad_document_is_rejected_naming_it_the_frame_and_the_reason(document, reason):
    with pytest.raises(LinksError, match="^night links.json") as caught:
        parse_links(document, "night links.json")
    assert reason in str(caught.value)
