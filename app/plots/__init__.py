"""Plot functions: DataFrames in, HoloViews objects out (Bokeh backend), no server needed."""

import holoviews.plotting.bokeh  # noqa: F401  (registers the backend the plots' options use)
