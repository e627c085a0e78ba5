"""Plot functions: DataFrames in, no server needed; the figures a page opens with are Bokeh
figures (:mod:`app.plots.figures`), the plots opened on demand HoloViews objects (Bokeh
backend)."""

import holoviews.plotting.bokeh  # noqa: F401  (registers the backend the plots' options use)
