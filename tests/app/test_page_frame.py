"""The frame of every page: its document is complete, and Bokeh walks the document's models
once for the whole template, not once per part of it (app.pages.layout.WorkbenchTemplate)."""

from __future__ import annotations

import panel as pn
from bokeh.document import Document
from bokeh.document.models import DocumentModelManager

from app.pages.layout import WorkbenchTemplate, page


def test_a_pages_document_holds_every_model_and_is_walked_once(monkeypatch):
    walks = []
    recompute = DocumentModelManager.recompute
    monkeypatch.setattr(
        DocumentModelManager, "recompute", lambda self: walks.append(1) or recompute(self)
    )
    template = page(
        "Bias",
        pn.Column(pn.pane.Markdown("**masters**"), pn.widgets.Button(label="Promote")),
        sidebar=pn.widgets.Select(options=["DDRAGO1", "CAGIRE"]),
        slug="bias",
    )
    assert isinstance(template, WorkbenchTemplate)
    doc = Document()
    template.server_doc(doc)
    assert len(doc.roots) > 3 and len(walks) == 1
    for root in doc.roots:
        for model in root.references():
            assert model.document is doc and doc.get_model_by_id(model.id) is model
    assert any("masters" in str(getattr(model, "text", "")) for model in doc.models)
