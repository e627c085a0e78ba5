"""The Reprocess page's steps and parameters: which GP2 modules to run, and each parameter
with its unit, its help and its default (from the folder's pipeline configuration)."""

from __future__ import annotations

import dataclasses

import panel as pn
import param

from analysis.gp2.parameters import PARAMETER_HELP
from data_access.gp2.config import STEPS, Parameters, PipelineSettings
from data_access.gp2.records import RunPlan


class StepsForm(pn.viewable.Viewer):
    """The modules to run and their [Parameters], defaults from the folder's pipeline config."""

    steps = param.ListSelector(default=["reduction", "findstars"], objects=list(STEPS))

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.pipeline = PipelineSettings()
        self.defaults = Parameters()
        self.widgets = {f.name: self._widget(f) for f in dataclasses.fields(Parameters)}
        for name, widget in self.widgets.items():
            widget.description = self.help(name)

    @staticmethod
    def _widget(field):
        label = PARAMETER_HELP[field.name].label(field.name)
        if field.name == "stack_method":
            return pn.widgets.Select(label=label, options=["median", "mean"], width=140)
        if "int" in str(field.type):
            return pn.widgets.IntInput(label=label, width=140)
        return pn.widgets.FloatInput(label=label, width=140, format="0[.]0000000")

    def load(self, pipeline: PipelineSettings) -> None:
        """Take the steps and parameters of a pipeline configuration as the defaults."""
        self.pipeline = pipeline
        self.defaults = pipeline.settings_for("pipeline").parameters
        self.steps = list(pipeline.steps)
        for name, widget in self.widgets.items():
            widget.param.update(value=getattr(self.defaults, name), description=self.help(name))

    def help(self, name: str) -> str:
        """What the parameter is, its unit and its default (the widget's tooltip)."""
        entry = PARAMETER_HELP[name]
        default = getattr(self.defaults, name)
        unit = f" {entry.unit}" if entry.unit and default is not None else ""
        shown = "none (the alert's, when it has one)" if default is None else f"{default}{unit}"
        return f"{entry.description}. Default: {shown}."

    def parameters(self) -> dict:
        """The parameters that differ from the configuration's."""
        return {
            name: widget.value
            for name, widget in self.widgets.items()
            if widget.value != getattr(self.defaults, name)
        }

    def plan(self, *, t0: str = "") -> RunPlan:
        """The run's plan: the steps chosen, every module's settings with the changed
        parameters applied, all outputs in one folder."""
        if not self.steps:
            raise ValueError("choose at least one step")
        changed = self.parameters()
        modules = self.pipeline.modules or {"pipeline": self.pipeline.settings_for("pipeline")}
        settings = {
            step: dataclasses.replace(s, parameters=dataclasses.replace(s.parameters, **changed))
            for step, s in modules.items()
        }
        ordered = tuple(step for step in STEPS if step in self.steps)
        return RunPlan(steps=ordered, settings=settings, headers=(), t0=t0)

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("Steps (the ones they need run too, in memory):", margin=(0, 5)),
            pn.widgets.CheckBoxGroup.from_param(self.param.steps, inline=False),
            pn.pane.Markdown(
                "Parameters (defaults from the folder's pipeline configuration):", margin=(0, 5)
            ),
            pn.GridBox(*self.widgets.values(), ncols=2),
            sizing_mode="stretch_width",
        )
