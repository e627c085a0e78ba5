"""The observability keys the background work adds to the trigger files of
``gic-alert-handler`` (which leaves them out: astropy costs a new process seconds)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from analysis.trigger_file import read_trigger_file
from analysis.voevent import parse_voevent
from app.worker import scheduled_jobs
from data_access.alerts.trigger_extras import OBSERVED_KEY, observe_pending
from data_access.alerts.trigger_files import update_trigger_file
from tests.analysis.test_voevent import make_packet


def test_the_files_without_observability_get_it_once(stores):
    site, triggers = stores.workspace.config.site, stores.alerts.triggers_dir
    received = datetime(2026, 2, 11, 19, 26, tzinfo=UTC)
    path = update_trigger_file(triggers, parse_voevent(make_packet()), received)  # no site
    assert OBSERVED_KEY not in read_trigger_file(path.read_text())
    broken = triggers / "trigger_sb00000001.dat"
    broken.write_bytes(b"\xff\xfe not a trigger file")
    tried: dict = {}
    assert observe_pending(triggers, site, tried) == [path]
    keys = read_trigger_file(path.read_text())
    assert keys[OBSERVED_KEY] == site.name and -90 <= float(keys["obs_altitude_deg"]) <= 90
    assert observe_pending(triggers, site, tried) == []  # neither again, nor the broken one
    os.utime(broken)  # rewritten since: looked at again, still not a trigger file
    assert observe_pending(triggers, site, tried) == [] and broken.read_bytes().startswith(b"\xff")


def test_the_background_work_observes_the_handlers_trigger_files(stores):
    names = [job.__name__ for job, _ in scheduled_jobs(stores)]
    assert names[:2] == ["_ingest_alert_spool", "_observe_triggers"]
