"""The photometry table's inputs that lie: errors of 0, empty limits, image IDs given twice."""

from __future__ import annotations

import pytest

from analysis.products.photometry import PhotometryError, parse_photometry_csv, photometry_csv

HEADER = "image_id,filter,t_start,t_end,exptime,mag,mag_err,limit_mag,detected,ra,dec\n"


def row(image: str, mag_err: str = "0.05", limit: str = "21.0", detected: str = "1") -> str:
    seen = detected == "1"
    return (
        f"{image},r,2026-03-05T04:12:30,2026-03-05T04:13:30,60,"
        f"{'17.2' if seen else ''},{mag_err if seen else ''},{limit},{detected},"
        f"{'150.1' if seen else ''},{'20.2' if seen else ''}\n"
    )


def test_a_detection_with_mag_err_0_is_refused_and_the_rows_are_named():
    text = HEADER + row("a") + row("b", mag_err="0") + row("c") + row("d", mag_err="0.0")
    with pytest.raises(PhotometryError, match=r"lc\.csv, row\(s\) 3, 5: mag_err 0 on a detection"):
        parse_photometry_csv(text, source="lc.csv")


def test_a_limit_says_so_with_detected_0_and_needs_no_error():
    photometry = parse_photometry_csv(HEADER + row("a") + row("b", detected="0"))
    assert photometry.detected.tolist() == [1, 0]


def test_an_empty_limit_mag_is_unknown_not_an_error_and_writes_back_empty():
    photometry = parse_photometry_csv(HEADER + row("a", limit="") + row("b", detected="0"))
    assert photometry.limit_mag.tolist() == [0.0, 21.0]
    again = parse_photometry_csv(photometry_csv(photometry))
    assert again.limit_mag.tolist() == [0.0, 21.0]


def test_an_image_id_given_twice_is_an_error_naming_both_rows():
    with pytest.raises(PhotometryError, match=r"image_id given twice: 'a' \(rows 2 and 4\)"):
        parse_photometry_csv(HEADER + row("a") + row("b") + row("a"), source="lc.csv")
