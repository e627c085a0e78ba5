"""Reprocess views: a burst's frames, the steps and their parameters, a run and its results,
two runs side by side.

The same views run in the server's Reprocess page and in a notebook::

    stores = Stores.open("demo-workspace")
    desk = ReprocessDesk.from_stores(stores, client_factory=lambda: None)  # in this process
    desk.folder = desk.choices()["sb26031490 (8 images)"]
    desk.form.steps = ["reduction", "findstars"]
    desk.run_now()                 # what the Run button does, without the thread
    desk.result.frame_plot()       # the reduced frame with its sources drawn

:class:`FolderImages` shows the frames (thumbnails, headers, the telemetry at each
exposure, the masters in force that night); :class:`StepsForm` the steps and parameters;
:class:`~app.views.reprocess_runs.RunView` one finished run;
:class:`~app.views.reprocess_runs.RunComparison` two; :class:`ReprocessDesk` composes
them, runs in a thread and saves a run as a product version.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import panel as pn
import param
from PIL import Image

from analysis.products import Burst
from app.auth import LOCAL_USER, require
from app.markup import html
from app.plots.images import zscale_limits
from app.views.feedback import failure_text, message_pane, notify
from app.views.reprocess_folders import FrameFolders, frame_roots
from app.views.reprocess_runs import RunComparison, RunView
from app.views.tables import paged_table
from data_access.calibration_store import CalibrationStore
from data_access.gp2_config import STEPS, Parameters, PipelineSettings
from data_access.gp2_runner import RunPlan, masters_from_store, run_burst
from data_access.reprocess_store import (
    ReprocessError,
    ReprocessStore,
    SharedClient,
    alert_burst,
    save_as_product,
)
from data_access.status_store import StatusStore

#: Telemetry shown beside each image: column → sensor (``{camera}``: its INSTRUME, lower case).
TELEMETRY_SENSORS = {
    "detector temperature (C)": "instrument-{camera}-detector-temperature",
    "humidity (%)": "weather-station-ws1-air-humidity",
    "wind (m/s)": "weather-station-ws1-wind-speed",
    "dome": "dome-shutter-state-position",
}
#: Farthest a reading may be from the middle of an exposure to be shown beside it.
TELEMETRY_WITHIN = timedelta(minutes=30)
#: Most thumbnails drawn for one folder.
MAX_THUMBNAILS = 24
RUN_ROLE = "scientist"
LOG = logging.getLogger("gic.reprocess")


# -- data for the eye ----------------------------------------------------------------------
def thumbnail_png(data: np.ndarray) -> bytes:
    """A frame's block means on a zscale stretch as a PNG (row 0 at the bottom)."""
    low, high = zscale_limits(data)
    scaled = np.clip((np.nan_to_num(data, nan=low) - low) / (high - low), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.flipud((scaled * 255).astype(np.uint8))).save(buffer, format="PNG")
    return buffer.getvalue()


def telemetry_at(status: StatusStore, images: pd.DataFrame) -> pd.DataFrame:
    """The readings nearest to the middle of each exposure (:data:`TELEMETRY_SENSORS`).

    Returns
    -------
    DataFrame
        image, t_mid (UTC), then one column per entry of :data:`TELEMETRY_SENSORS`
        (the value as text, '' when no reading lies within :data:`TELEMETRY_WITHIN`).
    """
    table = pd.DataFrame({"image": images["name"], "t_mid": images["t_mid"]})
    timed = images["t_mid"].notna()
    wanted = {(column, sensor.format(camera=str(camera).lower()))
              for column, sensor in TELEMETRY_SENSORS.items()
              for camera in images["instrument"].unique()}  # fmt: skip
    names = sorted({sensor for _, sensor in wanted})
    moments = [t.to_pydatetime() for t in images.loc[timed, "t_mid"]]
    readings = status.nearest(names, moments, within=TELEMETRY_WITHIN) if moments else None
    for column, template in TELEMETRY_SENSORS.items():
        values = []
        for index, row in images.iterrows():
            if readings is None or not timed[index]:
                values.append("")
                continue
            sensor = template.format(camera=str(row["instrument"]).lower())
            match = readings[(readings["name"] == sensor) & (readings["time"] == row["t_mid"])]
            value = match["value"].iloc[0] if len(match) else None
            values.append("" if value is None or pd.isna(value) else str(value))
        table[column] = values
    return table


def masters_at(calibration: CalibrationStore, images: pd.DataFrame) -> pd.DataFrame:
    """The masters in force the night of the images, per instrument and filter: the newest
    master of each type made on or before that night (not rejected), and the one in force now.

    Returns
    -------
    DataFrame
        instrument, filter, caltype, night (of the images), master (file), master_night,
        status, in_force_now (file name, '' when none).
    """
    free = set(calibration.config.filter_free_types)
    masters = calibration.masters()
    rows = []
    kinds = images[["instrument", "filter"]].drop_duplicates()
    for instrument, filter_ in kinds.itertuples(index=False):
        when = images.loc[(images["instrument"] == instrument) & (images["filter"] == filter_),
                          "t_mid"].dropna()  # fmt: skip
        night = calibration.night_of(when.min().to_pydatetime()) if len(when) else None
        for caltype in ("bias", "dark", "flat"):
            kind_filter = "NONE" if caltype in free else filter_
            chosen = masters[(masters["caltype"] == caltype) & (masters["instrument"] == instrument)
                             & (masters["filter"] == kind_filter)
                             & ~masters["status"].isin(["rejected", "candidate"])]  # fmt: skip
            if night is not None:
                chosen = chosen[pd.to_datetime(chosen["night"]).dt.date <= night]
            best = chosen.sort_values("night").iloc[-1] if len(chosen) else None
            now = calibration.in_force(caltype, instrument, kind_filter)
            rows.append({
                "instrument": instrument, "filter": filter_, "caltype": caltype, "night": night,
                "master": "" if best is None else Path(best["path"]).name,
                "master_night": None if best is None else best["night"],
                "status": "none on or before that night" if best is None else best["status"],
                "in_force_now": now.name if now else "",
            })  # fmt: skip
    return pd.DataFrame(rows, columns=["instrument", "filter", "caltype", "night", "master",
                                       "master_night", "status", "in_force_now"])  # fmt: skip


# -- the frames of a folder ----------------------------------------------------------------
class FolderImages(pn.viewable.Viewer):
    """A folder's frames: thumbnails, one frame's header, the telemetry at each exposure and
    the calibration masters in force that night."""

    store = param.ClassSelector(class_=ReprocessStore, constant=True)
    folder = param.String(default="", doc="the folder of frames shown")
    image = param.Selector(default=None, objects=[], allow_None=True, doc="the header shown")

    def __init__(self, store: ReprocessStore, *, status: StatusStore | None = None,
                 calibration: CalibrationStore | None = None, **params) -> None:  # fmt: skip
        self.status, self.calibration = status, calibration
        self._images, self._headers = pd.DataFrame(), {}
        super().__init__(store=store, **params)
        self._load()

    @param.depends("folder", watch=True)
    def _load(self) -> None:
        if not self.folder:
            self._images, self._headers = pd.DataFrame(), {}
        else:
            self._images, self._headers = self.store.images(self.folder)
        names = list(self._images["name"]) if len(self._images) else []
        self.param.image.objects = names
        self.image = names[0] if names else None

    def images(self) -> pd.DataFrame:
        return self._images

    def header(self) -> pd.DataFrame:
        """The shown frame's header: keyword, value, comment."""
        header = self._headers.get(self.image)
        if header is None:
            return pd.DataFrame(columns=["keyword", "value", "comment"])
        cards = [(card.keyword, str(card.value), card.comment) for card in header.cards]
        return pd.DataFrame(cards, columns=["keyword", "value", "comment"])

    def telemetry(self) -> pd.DataFrame:
        return (
            telemetry_at(self.status, self._images)
            if self.status and len(self._images)
            else pd.DataFrame()
        )

    def masters(self) -> pd.DataFrame:
        if self.calibration is None or self._images.empty:
            return pd.DataFrame()
        return masters_at(self.calibration, self._images)

    @param.depends("folder")
    def _thumbnails(self):
        if self._images.empty:
            return pn.pane.Markdown("*Pick a burst or a folder of frames.*")
        cards = []
        for row in self._images.head(MAX_THUMBNAILS).itertuples():
            png = base64.b64encode(thumbnail_png(self.store.thumbnail(row.path))).decode()
            cards.append(pn.pane.HTML(html(
                "<figure style='margin:2px;text-align:center;font-size:11px'>"
                "<img src='data:image/png;base64,{png}' width=120 height=120 alt='{name}' "
                "title='{name}'/><figcaption>{filter} {start}</figcaption></figure>",
                png=png, name=row.name, filter=row.filter, start=str(row.t_start or "")[11:19],
            ), width=130))  # fmt: skip
        return pn.FlexBox(*cards, sizing_mode="stretch_width")

    @param.depends("folder")
    def _summary(self):
        columns = ["name", "instrument", "filter", "exptime", "t_start", "t_end"]
        return paged_table(self._images[columns]) if len(self._images) else pn.Spacer(height=0)

    @param.depends("folder", "image")
    def _header(self):
        return paged_table(self.header(), page_size=12, widths={"comment": 240})

    @param.depends("folder")
    def _telemetry(self):
        frame = self.telemetry()
        if frame.empty:
            return pn.pane.Markdown("No telemetry for these frames.")
        return paged_table(frame.assign(t_mid=frame["t_mid"].dt.strftime("%Y-%m-%d %H:%M:%S")))

    @param.depends("folder")
    def _masters(self):
        frame = self.masters()
        if frame.empty:
            return pn.pane.Markdown("No calibration masters here.")
        return paged_table(frame)

    def __panel__(self):
        return pn.Column(
            self._thumbnails, self._summary,
            pn.Row(pn.Column("#### Header", pn.widgets.Select.from_param(self.param.image,
                                                                         label="Frame"),
                             self._header, sizing_mode="stretch_width"),
                   pn.Column("#### Telemetry at each exposure (nearest readings)",
                             self._telemetry, "#### Calibration masters in force that night",
                             self._masters, sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )  # fmt: skip


# -- the steps and their parameters -----------------------------------------------------------
class StepsForm(pn.viewable.Viewer):
    """The modules to run and their [Parameters], defaults from the folder's pipeline config."""

    steps = param.ListSelector(default=["reduction", "findstars"], objects=list(STEPS))

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.pipeline = PipelineSettings()
        self.defaults = Parameters()
        self.widgets = {f.name: self._widget(f) for f in dataclasses.fields(Parameters)}

    @staticmethod
    def _widget(field):
        label = field.name
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
            widget.value = getattr(self.defaults, name)

    def parameters(self) -> dict:
        """The parameters that differ from the configuration's."""
        return {name: widget.value for name, widget in self.widgets.items()
                if widget.value != getattr(self.defaults, name)}  # fmt: skip

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
            pn.pane.Markdown("Parameters (defaults from the folder's pipeline configuration):",
                             margin=(0, 5)),
            pn.GridBox(*self.widgets.values(), ncols=2),
            sizing_mode="stretch_width",
        )  # fmt: skip


# -- the desk ------------------------------------------------------------------------------
class ReprocessDesk(pn.viewable.Viewer):
    """Pick a burst or a folder, choose the steps and parameters, run on Dask with a progress
    bar, see the run, compare two runs, and save a run as a new product version.

    The folder is one of :meth:`choices` (the workspace's folders of frames and those of the
    ``frame_roots``); any other folder is refused with a message, nothing listed.
    """

    folder = param.String(default="", doc="the folder of frames to reprocess (of choices())")
    run_id = param.String(default="", doc="the run shown")
    compare_id = param.String(default="", doc="the run compared with the one shown")
    progress = param.Integer(default=0, bounds=(0, 100))
    running = param.Boolean(default=False)
    message = param.String(default="")
    failed = param.Boolean(default=False, doc="whether the message says what failed")
    revision = param.Integer(default=0, doc="bumped when a run is added")

    def __init__(self, store: ReprocessStore, *, alerts=None, status=None, calibration=None,
                 products=None, user=None, client_factory: Callable | None = None,
                 frame_roots: tuple[Path, ...] = (), **params) -> None:  # fmt: skip
        self.store, self.alerts, self.products, self.user = store, alerts, products, user
        self.calibration = calibration
        self.frames = FrameFolders(store, frame_roots)
        self.client_factory = client_factory or (lambda: None)
        self.images = FolderImages(store, status=status, calibration=calibration)
        self.form = StepsForm()
        self.result = RunView(store)
        self.comparison = RunComparison(store)
        self._state: dict = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(**params)
        self._folder_changed()
        self._run_changed()

    @classmethod
    def from_stores(cls, stores, *, user=None, client_factory: Callable | None = None, **params):
        """The desk over a workspace's stores (the page's and the notebook's way in)."""
        return cls(stores.reprocess, alerts=stores.alerts,
                   status=stores.status, calibration=stores.calibration, products=stores.products,
                   user=user, client_factory=client_factory,
                   frame_roots=frame_roots(stores.workspace), **params)  # fmt: skip

    # -- choices --------------------------------------------------------------------------
    def choices(self) -> dict[str, str]:
        """Label → folder: the alerts' bursts that have frames here first, then other folders
        (:class:`~app.views.reprocess_folders.FrameFolders`)."""
        known = self.alerts.bursts()["burst_id"] if self.alerts is not None else ()
        return self.frames.choices(known)

    def burst_id(self) -> str:
        folders = self.frames.table()
        match = folders[folders["path"] == self.folder]
        return str(match["burst_id"].iloc[0]) if len(match) else Path(self.folder).name

    def burst(self) -> Burst | None:
        return alert_burst(self.alerts, self.burst_id()) if self.alerts is not None else None

    def t0(self) -> str:
        burst = self.burst()
        return burst.t0.isot if burst is not None else ""

    @param.depends("folder", watch=True)
    def _folder_changed(self) -> None:
        try:
            folder = self.frames.check(self.folder) if self.folder else ""
            self.images.folder = folder
            self.form.load(self.store.pipeline(folder or None))
            if self.failed:  # what failed before this folder no longer holds
                self._say("")
        except Exception as exc:  # refused or unreadable: said, nothing listed
            self.images.folder = ""
            self._say(f"Nothing shown: {failure_text(exc, doing='the folder', log=LOG)}.",
                      failed=True)  # fmt: skip

    @param.depends("run_id", "compare_id", watch=True)
    def _run_changed(self) -> None:
        self.result.run_id = self.run_id
        self.comparison.param.update(first=self.compare_id, second=self.run_id)

    # -- running ------------------------------------------------------------------------------
    def _user_name(self) -> str:
        return getattr(self.user, "name", None) or "local"

    def _check_role(self, action: str) -> None:
        require(self.user or LOCAL_USER, RUN_ROLE, action)

    def _execute(self, plan: RunPlan, run_id: str, folder: Path) -> str:
        """Run the plan over the folder's frames into the run folder; returns the run id."""
        started = datetime.now(UTC)
        frames = list(self.images.images()["path"])
        masters = masters_from_store(self.calibration) if self.calibration is not None else None
        result = run_burst(frames, plan, output=folder / "output",
                           client=self.client_factory(), progress=self._progressed,
                           masters=masters, keep_images=True)  # fmt: skip
        self.store.save(run_id, plan, result, source=self.folder, burst_id=self.burst_id(),
                        user=self._user_name(), started=started)  # fmt: skip
        return run_id

    def _progressed(self, done: int, total: int) -> None:
        """Called from Dask's thread: keep the numbers for the session to read."""
        with self._lock:
            self._state["progress"] = int(100 * done / max(total, 1))

    def _prepare(self) -> tuple[RunPlan, str, Path]:
        self._check_role("reprocess")
        if not self.folder:
            raise ReprocessError("pick a burst or a folder of frames first")
        self.frames.check(self.folder)
        plan = self.form.plan(t0=self.t0())
        run_id, folder = self.store.new_run(self.burst_id())
        return plan, run_id, folder

    def run_now(self) -> str:
        """Run at once in this thread (notebooks, tests); show the run and return its id."""
        plan, run_id, folder = self._prepare()
        try:
            self._execute(plan, run_id, folder)
        except BaseException:
            self.store.remove(run_id)
            raise
        self._finish(run_id, None)
        return run_id

    def start(self) -> None:
        """Start a run in a thread; :meth:`poll` (a periodic callback) shows its progress."""
        if self.running:
            return
        plan, run_id, folder = self._prepare()
        self._state = {"progress": 0}
        self.param.update(running=True, progress=0, message=f"Running {', '.join(plan.steps)}…",
                          failed=False)  # fmt: skip

        def work() -> None:
            try:
                outcome = (self._execute(plan, run_id, folder), None)
            except Exception as exc:  # said on the page in words; the run folder is removed
                self.store.remove(run_id)
                outcome = (None, failure_text(exc, doing=f"run {run_id}", log=LOG))
            with self._lock:
                self._state["done"] = outcome

        self._thread = threading.Thread(target=work, name=f"gp2-{run_id}", daemon=True)
        self._thread.start()

    def poll(self) -> bool:
        """Show the running run's progress; True while it runs (called on the session's thread)."""
        with self._lock:
            state = dict(self._state)
        if "progress" in state:
            self.progress = state["progress"]
        if "done" in state:
            self._state = {}
            self._finish(*state["done"])
            return False
        return self.running

    def _finish(self, run_id: str | None, error: str | None) -> None:
        if error:
            self.running = False
            self._say(f"The run failed: {error}", failed=True)
            return
        compare = self.run_id if self.run_id and self.run_id != run_id else self.compare_id
        self.param.update(running=False, progress=100, compare_id=compare, run_id=run_id,
                          message=f"Run {run_id} done.", failed=False,
                          revision=self.revision + 1)  # fmt: skip

    # -- products ---------------------------------------------------------------------------
    def save_product(self) -> pd.DataFrame:
        """Build the shown run's photometry into the burst's products (MY_VERS + 1, state new)."""
        self._check_role("save a run as a product")
        if not self.run_id:
            raise ReprocessError("no run to save: run one or pick one")
        run = self.store.load(self.run_id)
        burst = alert_burst(self.alerts, run.meta["burst_id"]) if self.alerts is not None else None
        if burst is None:
            raise ReprocessError(f"no alert gives T0 and a position for {run.meta['burst_id']}")
        built = save_as_product(run, self.products, burst, user=self._user_name())
        created = built[built["created"]]
        versions = sorted(set(created["version"])) if len(created) else []
        self._say(f"Saved run {run.run_id} as products of {burst.burst_id}: {len(created)} new "
                  f"version(s) {versions} in the review queue." if len(created)
                  else "The products already hold this photometry.")  # fmt: skip
        return built

    # -- display ------------------------------------------------------------------------------
    def _say(self, text: str, *, failed: bool = False) -> None:
        """Show ``text`` under the controls (and as a toast when it says what failed)."""
        self.param.update(message=text, failed=failed)
        if failed:
            notify("error", text)

    def _clicked(self, action: Callable, doing: str) -> None:
        try:
            action()
        except Exception as exc:  # the page says why; an unexpected one is logged
            self._say(failure_text(exc, doing=doing, log=LOG), failed=True)

    @param.depends("message", "failed")
    def _message(self):
        return message_pane(self.message, failed=self.failed)

    @param.depends("revision")
    def _run_choices(self):
        runs = self.store.runs()
        options = {"": ""} | {f"{r.run_id} ({r.steps})": r.run_id for r in runs.itertuples()}
        shown = pn.widgets.Select.from_param(self.param.run_id, label="Run shown", options=options)
        other = pn.widgets.Select.from_param(self.param.compare_id, label="Compare with",
                                             options=options)  # fmt: skip
        return pn.Column(shown, other, sizing_mode="stretch_width")

    def controls(self) -> pn.Column:
        choices = self.choices()
        source = pn.widgets.Select(
            label="Burst or folder",
            options={"": "", **choices},
            value=self.folder if self.folder in choices.values() else "",
        )
        source.param.watch(lambda e: setattr(self, "folder", e.new or ""), "value")
        run = pn.widgets.Button(label="Run", color="primary", width=120,
                                disabled=self.param.running)  # fmt: skip
        run.on_click(lambda e: self._clicked(self._start_with_poll, "the run"))
        save = pn.widgets.Button(label="Save as product version", color="success", width=220)
        save.on_click(lambda e: self._clicked(self.save_product, "saving a run as a product"))
        return pn.Column(
            source, self.form, pn.Row(run, pn.indicators.Progress.from_param(
                self.param.progress, width=150, bar_color="info", margin=(15, 10))),
            self._message, self._run_choices, save, sizing_mode="stretch_width",
        )  # fmt: skip

    def _start_with_poll(self) -> None:
        self.start()
        if pn.state.curdoc is not None and self.running:
            callback = None

            def tick() -> None:
                if not self.poll() and callback is not None:
                    callback.stop()

            callback = pn.state.add_periodic_callback(tick, period=300)

    def display(self) -> pn.Tabs:
        """Frames, the run shown (brought forward when a run finishes), the comparison."""
        tabs = pn.Tabs(
            ("Frames", self.images), ("Run", self.result), ("Compare runs", self.comparison),
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.param.watch(lambda event: setattr(tabs, "active", 1) if event.new else None, "run_id")
        return tabs

    def __panel__(self):
        return pn.Row(pn.Column(self.controls(), width=420), self.display(),
                      sizing_mode="stretch_width")  # fmt: skip


def shared_client_factory(stores) -> Callable:
    """The process's Dask client for the workspace's ``[gp2]`` settings, opened on first use."""
    config = stores.workspace.config.gp2
    return lambda: SharedClient.get(config)


__all__ = ["FolderImages", "ReprocessDesk", "RunComparison", "RunView", "StepsForm",
           "masters_at", "shared_client_factory", "telemetry_at", "thumbnail_png"]  # fmt: skip
