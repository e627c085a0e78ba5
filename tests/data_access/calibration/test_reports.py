"""Reports in the cache alone, without master files: ingest, idempotent and naming what it
rejects."""

import json
from datetime import date

import pytest

from analysis.calibration import validate_master
from data_access.cache import Cache
from data_access.calibration.reports import CalibrationReports
from tests.data_access.calibration.test_store import make_master


def test_ingest_reports_is_idempotent_and_rejects_broken_files(tmp_path):
    with Cache(tmp_path / "cache.duckdb") as cache:
        reports = CalibrationReports(cache)
        master = make_master(1000, "2025-03-05")
        report = validate_master(
            master.data, master.header, master.data + 1, master.header, im_name="bias_tcs.fits"
        )
        good = tmp_path / "good.json"
        good.write_text(json.dumps(report.to_dict()))
        broken = tmp_path / "broken.json"
        data = report.to_dict()
        del data["RMSDIFF"]
        broken.write_text(json.dumps(data))
        first = reports.ingest_reports([good, broken])
        assert first.ingested == [str(good.resolve())]
        assert "broken.json: missing key(s) RMSDIFF" in first.rejected[0][1]
        again = reports.ingest_reports([good])
        assert again.unchanged == [str(good.resolve())] and not again.ingested
        trend = reports.trend("bias", "DDRAGO1")
        assert len(trend) == 1 and trend["meandiff"].iloc[0] == pytest.approx(-1, abs=1e-5)
        assert trend["night"].iloc[0].date() == date(2025, 3, 5)
        assert trend["master_id"].isna().all() and trend["status"].isna().all()
