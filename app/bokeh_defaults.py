"""Bokeh's property defaults, worked out once per model class instead of at every read.

Each time a Bokeh model's property that was never set is read (by Panel building a page,
by the document collecting its models, by the serialiser), Bokeh works its default out
again: it merges the overridden defaults of every class of the model's MRO into a new
dict, copies the default and validates it. A page of 300 to 500 models reads about 40,000
defaults, and that took a fifth of a page's build (bench/load.py, bench/RESULTS.md).

:func:`remember_stable_defaults` keeps the default of each (property, model class) once
worked out, when it is an immutable value (None, a number, a string, a tuple of these): the
same value Bokeh would give, shared safely. Defaults that are containers or models (a new
list, a new ``Selection``...) and the values of a document's theme go through Bokeh as
before. ``tests/app/test_bokeh_defaults.py`` checks that every property of every Bokeh model
gets the same default either way.
"""

from __future__ import annotations

from typing import Any

from bokeh.core.property.bases import Property

_IMMUTABLE = (type(None), bool, int, float, str)
_UNKNOWN = object()
_bokeh_themed_default = Property.themed_default
_kept: dict[tuple, Any] = {}


def _immutable(value: Any) -> bool:
    return isinstance(value, _IMMUTABLE) or (
        isinstance(value, tuple) and all(_immutable(item) for item in value)
    )


def _themed_default(self, cls, name, theme_overrides, *, no_eval=False):
    if theme_overrides is not None and name in theme_overrides:
        return _bokeh_themed_default(self, cls, name, theme_overrides, no_eval=no_eval)
    key = (
        id(self),
        cls,
        name,
        no_eval,
    )  # a Property is not hashable; it lives as long as its class
    value = _kept.get(key, _UNKNOWN)
    if value is _UNKNOWN:
        value = _bokeh_themed_default(self, cls, name, None, no_eval=no_eval)
        if _immutable(value):
            _kept[key] = value
    return value


def remember_stable_defaults() -> None:
    """Keep Bokeh's immutable property defaults once worked out, in this process (the page
    server calls it at start; calling it again changes nothing)."""
    Property.themed_default = _themed_default


def forget_stable_defaults() -> None:
    """Bokeh's own way again, nothing kept (for the tests)."""
    Property.themed_default = _bokeh_themed_default
    _kept.clear()
