"""What a page says when an action fails: the message of an expected error, the reason and
file name of an OSError, and for anything else words only, the traceback in the log."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from app.auth import PermissionDenied
from app.views.feedback import failure_text, message_pane
from app.views.tables import paged_table, table
from data_access.products.sdb_client import SdbUnavailable
from tests.app.shown import pane_html, parse, shown_text

LOG = logging.getLogger("gic.tests")


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("pick a product first"),
        PermissionDenied("bob may not push"),
        SdbUnavailable("the SDB at http://sdb/ does not answer"),
    ],
)
def test_expected_errors_show_their_message(exc, caplog):
    assert failure_text(exc, doing="Push", log=LOG) == str(exc)
    assert not caplog.records


def test_a_file_error_shows_its_reason_and_the_file_name_only(caplog):
    exc = FileNotFoundError(2, "No such file or directory", "/srv/gic/ws/masters/m.fits")
    assert failure_text(exc, doing="the run", log=LOG) == (
        "No such file or directory (m.fits); check that the file is there and readable, "
        "then try again"
    )
    assert "/srv/gic/ws/masters/m.fits" in caplog.text  # the whole path in the log only


@pytest.mark.parametrize(
    "exc",
    [
        KeyError("path"),
        AttributeError("'NoneType' object"),
        TypeError("/srv/gic/app/views/x.py line 3"),
    ],
)
def test_an_unexpected_error_shows_words_and_logs_its_traceback(exc, caplog):
    text = failure_text(exc, doing="the run", log=LOG)
    assert text.startswith("an unexpected error stopped it (logged by gic.tests at ")
    assert str(exc) not in text and type(exc).__name__ not in text
    [record] = caplog.records
    assert record.levelname == "ERROR" and record.exc_info[1] is exc
    assert record.getMessage() == "the run failed"


def test_the_message_pane_escapes_and_says_failures_in_red():
    pane = message_pane("<img src=x onerror=alert(1)> not found", failed=True)
    assert pane.alert_type == "danger" and "img" not in parse(pane_html(pane)).tags
    assert shown_text(pane).strip() == "<img src=x onerror=alert(1)> not found"
    assert message_pane("done", failed=False).alert_type == "success"
    assert not hasattr(message_pane("", failed=False), "alert_type")


def test_table_titles_are_escaped_and_the_table_read_only():
    frame = pd.DataFrame({"<img src=x onerror=alert(1)>": [1], "name": ["<b>x</b>"]})
    shown = table(frame, titles={"name": "NAME <i>"})
    assert shown.titles == {
        "<img src=x onerror=alert(1)>": "&lt;img src=x onerror=alert(1)&gt;",
        "name": "NAME &lt;i&gt;",
    }
    assert shown.disabled and not shown.show_index
    assert paged_table(frame, page_size=5).page_size == 5 and paged_table(frame).page_size == 10


def test_a_page_that_cannot_be_built_says_so_and_logs_the_traceback(caplog):
    from app.pages.layout import shown_safely

    def create(stores, caltype="dark"):
        raise KeyError("<img src=x onerror=alert(1)>")

    create.__module__ = "app.pages.calibration"
    template = shown_safely(create)(None, caltype="dark")
    [column] = template.main.objects
    navigation, alert = column.objects
    assert template.title == "GIC Workbench: Dark" and alert.alert_type == "danger"
    text = shown_text(alert)
    assert text.startswith("This page could not be shown: an unexpected error stopped it")
    assert "img" not in text and "KeyError" not in text and "gic.dark" in text
    [record] = caplog.records
    assert record.name == "gic.dark" and record.exc_info[0] is KeyError
