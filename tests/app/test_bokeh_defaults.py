"""Bokeh's property defaults, kept once worked out (app.bokeh_defaults): every property of
every Bokeh model class gets the same default as from Bokeh itself, and a mutable default
is still a new value for each model."""

from __future__ import annotations

import math

import pytest
from bokeh.model import Model
from bokeh.models import ColumnDataSource, Legend, LegendItem

from app import bokeh_defaults


@pytest.fixture
def remembered():
    bokeh_defaults.remember_stable_defaults()
    yield
    bokeh_defaults.forget_stable_defaults()


def same(a, b) -> bool:
    """Equal values; a model default is a new model each time: the same class will do."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Model):
        return True
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def every_default() -> dict:
    values = {}
    for cls in Model.model_class_reverse_map.values():
        for name in cls.properties():
            values[cls, name] = cls.lookup(name).property.themed_default(cls, name, None)
    return values


def test_every_default_is_bokehs_own(remembered):
    bokeh_defaults.forget_stable_defaults()
    bokeh = every_default()
    bokeh_defaults.remember_stable_defaults()
    first, kept = every_default(), every_default()  # the second from what was kept
    assert len(bokeh) > 5000 and len(bokeh_defaults._kept) > 5000
    differ = [key for key in bokeh if not same(bokeh[key], first[key])]
    differ += [key for key in bokeh if not same(bokeh[key], kept[key])]
    assert not differ, differ[:5]


def test_a_mutable_default_is_each_models_own(remembered):
    one, two = ColumnDataSource(), ColumnDataSource()
    one.data["x"] = [1]
    assert two.data == {} and one.selected is not two.selected
    legend = Legend()
    legend.items.append(LegendItem(label="a"))
    assert Legend().items == []
