"""The dossier view over the demo workspace: its sections, and what it says of a bad ID."""

from __future__ import annotations

import panel as pn
import pytest

from app.markup import burst_link
from app.views.dossier import BurstDossier
from data_access.stores import Stores
from tests.app.shown import Parsed, markdown_html, pane_html


@pytest.fixture(scope="module")
def demo_stores(demo_root):
    stores = Stores.open(demo_root, read_only=True)
    yield stores
    stores.close()


def _texts(view) -> str:
    panes = view.__panel__().select(lambda o: isinstance(o, pn.pane.Markdown | pn.pane.HTML))
    return "\n".join(str(p.object) for p in panes)


def test_the_dossier_shows_every_section(demo_stores, demo_bursts):
    view = BurstDossier(demo_stores, burst=demo_bursts.reprocess)
    text = _texts(view)
    for title in ("Notices, newest first", "Trigger file", "Timeline", "Masters in force"):
        assert title in text
    tables = view.__panel__().select(pn.widgets.Tabulator)
    masters = [t.value for t in tables if "caltype" in t.value.columns]
    assert masters and set(masters[0]["caltype"]) == {"bias", "dark", "flat"}


def test_a_malformed_or_unknown_id_is_said_in_words(demo_stores):
    view = BurstDossier(demo_stores, burst="<img src=x onerror=alert(1)>")
    [alert] = view.__panel__().select(pn.pane.Alert)
    shown = Parsed()
    shown.feed(pane_html(alert))
    assert "img" not in shown.tags and "is not a burst ID" in "".join(shown.chunks)
    view.burst = "sb00000000"
    [alert] = view.__panel__().select(pn.pane.Alert)
    assert "No notice names burst sb00000000" in pane_html(alert)


def test_without_an_id_the_newest_bursts_link_to_their_dossiers(demo_stores, demo_bursts):
    text = _texts(BurstDossier(demo_stores))
    assert f'<a href="./burst?id={demo_bursts.reprocess}">' in text


def test_a_burst_link_escapes_and_encodes_the_id():
    parsed = Parsed()
    parsed.feed(markdown_html(burst_link('sb1"><script>x</script>')))
    assert parsed.tags <= {"p", "a"}
    [attrs] = [attrs for tag, attrs in parsed.elements if tag == "a"]
    assert attrs["href"] == "./burst?id=sb1%22%3E%3Cscript%3Ex%3C%2Fscript%3E"
    assert "".join(parsed.chunks).strip() == 'sb1"><script>x</script>'
