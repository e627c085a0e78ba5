"""The seven GFT products built from a burst's photometry, and the decay fit behind QTI."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from analysis.afterglow import fit_decay
from analysis.products import (
    PRODUCT_CARDS,
    BuildSettings,
    Burst,
    PhotometryError,
    build_products,
    compile_product_tsv,
    parse_photometry_csv,
    product_file_name,
    validate_product,
)
from analysis.products.photometry import photometry_csv
from analysis.products.synthetic import synthetic_photometry

DESCRIPTORS = Path(__file__).resolve().parents[2] / "data_access" / "products" / "descriptors"
BURST = Burst("sb26030512", Time("2026-03-05T04:10:00", scale="utc"), 150.0, 20.0, 0.05)


@pytest.fixture(scope="module")
def descriptors():
    imports = {"gft_primary": (DESCRIPTORS / "gft_primary.tsv").read_text()}
    return {
        card: compile_product_tsv((DESCRIPTORS / f"{card}.tsv").read_text(), imports=imports)
        for card in PRODUCT_CARDS.values()
    }


@pytest.fixture(scope="module")
def generated(descriptors):
    photometry = parse_photometry_csv(
        photometry_csv(synthetic_photometry(BURST, alpha=1.7, seed=1))
    )
    settings = BuildSettings(my_vers=2, created=Time("2026-03-05T06:00:00", scale="utc"))
    return photometry, build_products(photometry, BURST, descriptors, settings)


def test_every_product_matches_its_descriptor_and_has_no_nan(generated, descriptors):
    _, products = generated
    assert set(products) == set(PRODUCT_CARDS.values())
    for card, hdul in products.items():
        assert validate_product(hdul, descriptors[card]).valid, card
        for column in hdul[1].columns:
            values = np.asarray(hdul[1].data[column.name])
            if values.dtype.kind == "f":
                assert np.all(np.isfinite(values)), (card, column.name)


def test_every_product_has_the_same_primary_header_but_card(generated):
    _, products = generated
    headers = [{k: v for k, v in h[0].header.items() if k != "CARD"} for h in products.values()]
    assert all(h == headers[0] for h in headers)
    header = products["DT_GFT_FGFT"][0].header
    assert (header["INSTRUME"], header["DSTREAM"], header["MJDREFI"], header["MY_VERS"]) == (
        "FGFT",
        "GFT",
        57754,
        2,
    )
    assert header["TRIG_MJD"] == pytest.approx(BURST.t0.mjd)
    assert header["CANDNUMB"] == 1
    assert (header["DATE-OBS"], header["TIME-OBS"]) == ("2026-03-05", "04:10:40.000")
    assert product_file_name("DT_GFT_FGFT", BURST.burst_id, 2) == "DT_GFT_FGFT_sb26030512_v02.fits"


def test_dt_has_one_row_per_filter_and_imageid_is_50_characters(generated):
    photometry, products = generated
    dt = products["DT_GFT_FGFT"][1]
    assert list(dt.data["FILTER"]) == photometry.filters()
    assert dt.columns["IMAGEID"].format == "50A"
    assert dt.data["DETECTED"].dtype.kind == "i" and set(dt.data["DETECTED"]) == {1}
    first_g = photometry.t_start.mjd[(photometry.filter == "g") & (photometry.detected == 1)].min()
    assert dt.data["DT_MJD"][0] == pytest.approx(first_g)


def test_po_gives_equatorial_and_galactic_coordinates(generated):
    _, products = generated
    po = products["PO_GFT_FGFT"][1]
    assert po.header["EQUINOX"] == 2000.0 and po.data["FOM"][0] == 1
    position = SkyCoord(po.data["RA"][0] * u.deg, po.data["DEC"][0] * u.deg, frame="icrs")
    assert position.separation(SkyCoord(150.0 * u.deg, 20.0 * u.deg)).arcsec == pytest.approx(
        1.0, abs=0.2
    )
    assert po.data["GLON"][0] == pytest.approx(position.galactic.l.deg)
    assert po.data["GLAT"][0] == pytest.approx(position.galactic.b.deg)


def test_lc_holds_every_observation_and_qlc_only_limits_after_300_s(generated):
    photometry, products = generated
    lc, qlc = products["LC_GFT_FGFT"][1].data, products["QLC_GFT_FGFT"][1].data
    assert len(lc) == len(photometry) == len(products["META_GFT_FGFT"][1].data)
    late = qlc["DELTAT"] > 300
    assert late.any() and not qlc["DETECTED"][late].any()
    assert np.all(qlc["MAG"][late] == qlc["LIMMAG"][late]) and np.all(qlc["MAGERR"][late] == 0)
    early = ~late
    assert np.array_equal(qlc["DETECTED"][early], lc["DETECTED"][early])
    missed = lc["DETECTED"] == 0
    assert np.all(lc["MAG"][missed] == lc["LIMMAG"][missed])


def test_qti_recovers_the_injected_decay_index_within_its_error(generated):
    _, products = generated
    qti = products["QTI_GFT_FGFT"][1].data
    assert set(qti["FITVALID"]) == {1}
    for row in qti:
        assert abs(row["FITINDEX"] - 1.7) < 2 * row["ERFITINDEX"], row
        assert row["FITCHI2"] > 0 and row["NFIT"] >= 2


def test_the_decay_index_is_unbiased_over_many_generated_bursts():
    pulls = []
    for seed in range(10, 20):
        photometry = synthetic_photometry(BURST, alpha=1.7, seed=seed)
        t = photometry.since_t0(BURST.t0)
        for name in photometry.filters():
            use = (photometry.filter == name) & (photometry.detected == 1)
            fit = fit_decay(t[use], photometry.mag[use], photometry.mag_err[use])
            pulls.append((fit.index - 1.7) / fit.index_err)
    pulls = np.asarray(pulls)
    assert abs(pulls.mean()) < 0.5 and np.mean(np.abs(pulls) < 2) >= 0.9


def test_decay_fit_known_answer_and_its_nulls():
    t = np.array([100.0, 400.0, 1600.0, 6400.0])
    fit = fit_decay(t, 16.0 + 2.5 * 1.5 * np.log10(t / 100.0), np.full(4, 0.05))
    assert fit.valid and fit.index == pytest.approx(1.5) and fit.chi2 == pytest.approx(0, abs=1e-12)
    assert fit.magnitude(np.array([100.0]))[0] == pytest.approx(16.0)
    assert fit.norm_ujy == pytest.approx(10 ** ((23.9 - (16.0 - 2.5 * 1.5 * 2)) / 2.5))
    one = fit_decay(t[:1], np.array([16.0]), np.array([0.05]))
    assert not one.valid and one.index == 0 and "at least 2" in one.reason
    same_time = fit_decay(np.array([100.0, 100.0]), np.array([16.0, 16.2]), np.array([0.05, 0.05]))
    assert not same_time.valid and "degenerate" in same_time.reason


def test_a_filter_with_one_detection_gets_a_null_fit(descriptors):
    photometry = synthetic_photometry(BURST, alpha=1.2, filters=("r",), n_images=1)
    products = build_products(photometry, BURST, descriptors)
    row = products["QTI_GFT_FGFT"][1].data[0]
    assert (row["FITVALID"], row["FITINDEX"], row["ERFITINDEX"], row["FITCHI2"]) == (0, 0, 0, 0)


def test_a_burst_never_detected(descriptors):
    photometry = synthetic_photometry(BURST, mag_at_100s=24.0, n_images=2)
    products = build_products(photometry, BURST, descriptors)
    assert products["DT_GFT_FGFT"][0].header["CANDNUMB"] == 0
    assert products["DT_GFT_FGFT"][0].header["DATE-OBS"] == ""
    assert len(products["PO_GFT_FGFT"][1].data) == 0
    assert set(products["DT_GFT_FGFT"][1].data["DETECTED"]) == {0}
    for card, hdul in products.items():
        assert validate_product(hdul, descriptors[card]).valid, card


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("limit_mag,", ""), "missing column\\(s\\) limit_mag"),
        (lambda t: t.replace(",1,150.", ",yes,150.", 1), "row 2: column detected value 'yes'"),
        (lambda t: t.replace("2026-03-05T04:10:40.000", "5 March", 1), "row 2: column t_start"),
        (lambda t: t.replace(",30,", ",abc,", 1), "row 2: column exptime value 'abc'"),
        (lambda t: t.splitlines()[0] + "\n", "no measurement"),
    ],
)
def test_a_bad_photometry_table_is_refused_naming_row_and_column(change, message):
    text = photometry_csv(synthetic_photometry(BURST, n_images=1))
    with pytest.raises(PhotometryError, match=f"phot.csv.*{message}"):
        parse_photometry_csv(change(text), source="phot.csv")


def grb130427a_photometry(shared: Path) -> str:
    """RATIR r and i photometry of GRB 130427A (Becerra et al. 2017, via GRBSNWebtool; AB,
    days after the trigger, 'integration' s) up to 5 days (before the supernova), as the
    photometry CSV of the products."""
    source = (
        shared
        / "lightcurves/GRBSNWebtool/GRB130427A-SN2013cq/GRB130427A-SN2013cq_Optical_Master.txt"
    )
    with source.open(encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle, delimiter="\t")
            if r["instrument"] == "RATIR" and r["band"] in ("r", "i") and float(r["time"]) < 5
        ]
    t0 = Time("2013-04-27T07:47:06.42", scale="utc")
    lines = ["image_id,filter,t_start,t_end,exptime,mag,mag_err,limit_mag,detected,ra,dec"]
    for index, row in enumerate(rows):
        exptime = float(row["integration"])
        start = t0 + float(row["time"]) * u.day
        seen = row["mag_limit"] == "0"
        mag = float(row["mag"])
        lines.append(
            ",".join(
                [
                    f"RATIR_{row['band']}_{index:04d}",
                    row["band"],
                    start.isot,
                    (start + exptime * u.s).isot,
                    f"{exptime:g}",
                    f"{mag}" if seen else "",
                    row["dmag"] if seen else "",
                    f"{mag + (0.0 if not seen else 1.5)}",
                    "1" if seen else "0",
                    "173.136708" if seen else "",
                    "27.698861" if seen else "",
                ]
            )
        )
    return "\n".join(lines) + "\n"


@pytest.mark.shared_data
def test_a_real_afterglow_grb130427a(shared_data, descriptors):
    photometry = parse_photometry_csv(grb130427a_photometry(shared_data), source="GRB130427A")
    burst = Burst(
        "GRB130427A", Time("2013-04-27T07:47:06.42", scale="utc"), 173.1367, 27.6989, 0.01
    )
    products = build_products(photometry, burst, descriptors)
    for card, hdul in products.items():
        assert validate_product(hdul, descriptors[card]).valid, card
    qti = products["QTI_GFT_FGFT"][1].data
    t = photometry.since_t0(burst.t0)
    for row in qti:
        assert row["FITVALID"] == 1 and 0.5 < row["FITINDEX"] < 2.0, row  # a fading afterglow
        use = (photometry.filter == row["FILTER"]) & (photometry.detected == 1)
        weights = 1 / np.maximum(photometry.mag_err[use], 0.01)
        slope = np.polyfit(np.log10(t[use]), photometry.mag[use], 1, w=weights)[0]
        assert row["FITINDEX"] == pytest.approx(slope / 2.5, rel=1e-6)  # numpy's answer
        assert abs(row["FITINDEX"] - slope / 2.5) <= row["ERFITINDEX"]


def test_filters_named_otherwise_map_to_the_card_codes_and_never_abort_the_others(descriptors):
    photometry = synthetic_photometry(BURST, alpha=1.7, filters=("r", "i"), seed=2)
    renamed = np.where(photometry.filter == "i", "UVOT-white", photometry.filter)
    products = build_products(dataclasses.replace(photometry, filter=renamed), BURST, descriptors)
    for card, hdul in products.items():
        assert validate_product(hdul, descriptors[card]).valid, card
    qti = products["QTI_GFT_FGFT"][1].data
    assert sorted(qti["FILTER"]) == ["r", "w"] and set(qti["FITVALID"]) == {1}
    assert set(products["LC_GFT_FGFT"][1].data["FILTER"]) == {"r", "w"}


def test_qti_keeps_the_single_law_over_the_window(descriptors):
    photometry = synthetic_photometry(BURST, alpha=1.7, seed=1)
    settings = BuildSettings(created=Time("2026-03-05T06:00:00"), fit_window_s=(300.0, 3000.0))
    qti = build_products(photometry, BURST, descriptors, settings)["QTI_GFT_FGFT"][1].data
    t = photometry.since_t0(BURST.t0)
    for row in qti:
        use = (photometry.filter == row["FILTER"]) & (photometry.detected == 1)
        inside = use & (t >= 300) & (t <= 3000)
        assert row["NFIT"] == inside.sum() and 300 <= row["TFITSTART"] <= row["TFITSTOP"] <= 3000
        expected = fit_decay(
            t[use], photometry.mag[use], photometry.mag_err[use], window_s=(300, 3000)
        )
        assert row["FITINDEX"] == pytest.approx(expected.index)
        assert row["FITCHI2R"] == pytest.approx(expected.chi2_reduced)
