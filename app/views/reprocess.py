"""Reprocess views: a burst's frames, the steps and their parameters, a run and its results,
two runs side by side.

The same views run in the server's Reprocess page and in a notebook::

    stores = Stores.open("demo-workspace")
    desk = ReprocessDesk.from_stores(stores, client_factory=lambda: None)  # in this process
    desk.folder = desk.choices()["sb26031490 (8 images)"]
    desk.form.steps = ["reduction", "findstars"]
    desk.run_now()                 # what the Run button does, without the thread
    desk.result.frame_plot()       # the reduced frame with its sources drawn

:class:`~app.views.reprocess_frames.FolderImages` shows the frames (thumbnails, headers,
the telemetry at each exposure, the masters in force that night);
:class:`~app.views.reprocess_steps.StepsForm` the steps and parameters;
:class:`~app.views.reprocess_runs.RunView` one finished run;
:class:`~app.views.reprocess_runs.RunComparison` two; :class:`ReprocessDesk` composes
them, runs in a thread and saves a run as a product version.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import panel as pn
import param

from analysis.products import Burst
from analysis.products.settings import fit_window
from app.auth import LOCAL_USER, require
from app.markup import escape_markdown, html
from app.views.feedback import failure_text, guarded, message_pane, notify
from app.views.reprocess_folders import FrameFolders, frame_roots
from app.views.reprocess_frames import FolderImages
from app.views.reprocess_runs import RunComparison, RunView
from app.views.reprocess_steps import StepsForm
from data_access.gp2.records import RunPlan
from data_access.gp2.runs import ReprocessError, ReprocessStore
from pipelines.frame_quality import QualityRecorder
from pipelines.gp2.runner import RunStopped
from pipelines.reprocess import SharedClient, alert_burst, reprocess, save_as_product

RUN_ROLE = "scientist"
LOG = logging.getLogger("gic.reprocess")


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
    saved_burst = param.String(default="", doc="the burst whose products a run was saved as")
    fit_start_s = param.Number(default=0.0, bounds=(0, None), doc="decay fits from (s after T0)")
    fit_stop_s = param.Number(default=0.0, bounds=(0, None), doc="decay fits to; 0 = no end")

    def __init__(
        self,
        store: ReprocessStore,
        *,
        alerts=None,
        status=None,
        calibration=None,
        products=None,
        user=None,
        client_factory: Callable | None = None,
        frame_roots: tuple[Path, ...] = (),
        quality=None,
        **params,
    ) -> None:
        self.store, self.alerts, self.products, self.user = store, alerts, products, user
        self.calibration = calibration
        self.quality = quality  # a QualityRecorder: each run's frames recorded, flagged here
        self.frames = FrameFolders(store, frame_roots)
        self.client_factory = client_factory or (lambda: None)
        self.images = FolderImages(
            store,
            status=status,
            calibration=calibration,
            quality=quality.quality if quality is not None else None,
        )
        self.form = StepsForm()
        self.result = RunView(store, alerts=alerts)
        self.comparison = RunComparison(store, alerts=alerts)
        self._state: dict = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        super().__init__(**params)
        self._folder_changed()
        self._run_changed()

    @classmethod
    def from_stores(cls, stores, *, user=None, client_factory: Callable | None = None, **params):
        """The desk over a workspace's stores (the page's and the notebook's way in)."""
        return cls(
            stores.reprocess,
            alerts=stores.alerts,
            status=stores.status,
            calibration=stores.calibration,
            products=stores.products,
            user=user,
            client_factory=client_factory,
            frame_roots=frame_roots(stores.workspace),
            quality=QualityRecorder.from_stores(stores),
            **params,
        )

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
    @guarded("Choosing the folder", LOG, say="_failed")
    def _folder_changed(self) -> None:
        try:
            folder = self.frames.check(self.folder) if self.folder else ""
            self.images.folder = folder
            self.form.load(self.store.pipeline(folder or None))
            if self.failed:  # what failed before this folder no longer holds
                self._say("")
        except Exception as exc:  # refused or unreadable: said, nothing listed
            self.images.folder = ""
            self._say(
                f"Nothing shown: {failure_text(exc, doing='the folder', log=LOG)}.", failed=True
            )

    @param.depends("run_id", "compare_id", watch=True)
    @guarded("Showing the run", LOG, say="_failed")
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
        reprocess(
            self.store,
            self.images.images()["path"],
            plan,
            run_id,
            folder,
            source=self.folder,
            burst_id=self.burst_id(),
            user=self._user_name(),
            calibration=self.calibration,
            client=self.client_factory(),
            progress=self._progressed,
            stop=self._stop,
            quality=self.quality,
        )
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
        if self.images.images().empty:
            raise ReprocessError(f"{self.folder}: no frame to reprocess in this folder")
        plan = dataclasses.replace(self.form.plan(t0=self.t0()), keywords=self.store.keywords)
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
        self._stop = threading.Event()
        self.param.update(
            running=True, progress=0, message=f"Running {', '.join(plan.steps)}…", failed=False
        )

        def work() -> None:
            try:
                outcome = (self._execute(plan, run_id, folder), None)
            except RunStopped:  # recorded as stopped by the pipeline; its folder kept
                outcome = (None, None)
                with self._lock:
                    self._state["stopped"] = run_id
            except Exception as exc:  # said on the page in words; the run folder is removed
                self.store.remove(run_id)
                outcome = (None, failure_text(exc, doing=f"run {run_id}", log=LOG))
            with self._lock:
                self._state["done"] = outcome

        self._thread = threading.Thread(target=work, name=f"gp2-{run_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the running run: nothing more is submitted, its tasks are cancelled, and it
        is recorded as stopped (:meth:`poll` says so once it has)."""
        if not self.running:
            raise ReprocessError("no run is running")
        self._stop.set()
        self._say("Stopping the run…")

    def poll(self) -> bool:
        """Show the running run's progress; True while it runs (called on the session's thread)."""
        with self._lock:
            state = dict(self._state)
        if "progress" in state:
            self.progress = state["progress"]
        if "done" in state:
            self._state = {}
            if "stopped" in state:
                self._stopped(state["stopped"])
            else:
                self._finish(*state["done"])
            return False
        return self.running

    def _stopped(self, run_id: str) -> None:
        self.running = False
        self._say(
            f"Run {run_id} stopped on request: its partial outputs removed, the run recorded "
            "as stopped (stopped.json in its folder)."
        )

    def _finish(self, run_id: str | None, error: str | None) -> None:
        if error:
            self.running = False
            self._say(f"The run failed: {error}", failed=True)
            return
        compare = self.run_id if self.run_id and self.run_id != run_id else self.compare_id
        self.param.update(
            running=False,
            progress=100,
            compare_id=compare,
            run_id=run_id,
            message=f"Run {run_id} done.",
            failed=False,
            revision=self.revision + 1,
        )

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
        window = fit_window(self.fit_start_s, self.fit_stop_s)  # both 0: the configured one
        built = save_as_product(
            run, self.products, burst, user=self._user_name(), fit_window_s=window
        )
        created = built[built["created"]]
        self.saved_burst = burst.burst_id
        versions = sorted(set(created["version"])) if len(created) else []
        self._say(
            f"Saved run {run.run_id} as products of {burst.burst_id}: {len(created)} new "
            f"version(s) {versions} in the review queue."
            if len(created)
            else "The products already hold this photometry."
        )
        return built

    # -- display ------------------------------------------------------------------------------
    def _say(self, text: str, *, failed: bool = False) -> None:
        """Show ``text`` under the controls (and as a toast when it says what failed)."""
        self.param.update(message=text, failed=failed)
        if failed:
            notify("error", text)

    def _failed(self, sentence: str) -> None:
        self._say(sentence, failed=True)

    @guarded("Starting the run", LOG, say="_failed")
    def _run_clicked(self, _event=None) -> None:
        self._start_with_poll()

    @guarded("Stopping the run", LOG, say="_failed")
    def _stop_clicked(self, _event=None) -> None:
        self.stop()

    @guarded("Saving the run as a product version", LOG, say="_failed")
    def _save_clicked(self, _event=None) -> None:
        self.save_product()

    @param.depends("message", "failed")
    def _message(self):
        return message_pane(self.message, failed=self.failed)

    @param.depends("folder")
    def _sync_state(self):
        """The folder's last sync from the export API (its progress file), when it had one."""
        line = self.frames.sync_state(self.folder)
        return (
            pn.pane.Markdown(escape_markdown(line), margin=(0, 10)) if line else pn.Spacer(height=0)
        )

    @param.depends("saved_burst")
    def _review_link(self):
        """After a save: the burst's review queue on the Products page."""
        if not self.saved_burst:
            return pn.Spacer(height=0)
        return pn.pane.HTML(
            html(
                '<a href="./products?{query}">Review queue of {burst} on the Products page</a>',
                query=urlencode({"burst": self.saved_burst}),
                burst=self.saved_burst,
            )
        )

    @param.depends("revision")
    def _run_choices(self):
        runs = self.store.runs()
        options = {"": ""} | {f"{r.run_id} ({r.steps})": r.run_id for r in runs.itertuples()}
        shown = pn.widgets.Select.from_param(self.param.run_id, label="Run shown", options=options)
        other = pn.widgets.Select.from_param(
            self.param.compare_id, label="Compare with", options=options
        )
        return pn.Column(shown, other, sizing_mode="stretch_width")

    def controls(self) -> pn.Column:
        choices = self.choices()
        source = pn.widgets.Select(
            label="Burst or folder",
            options={"": "", **choices},
            value=self.folder if self.folder in choices.values() else "",
        )
        source.param.watch(self._folder_picked, "value")
        typed = pn.widgets.TextInput(
            label="Or a folder's path",
            placeholder="a folder of FITS frames in the workspace",
            description="Checked when entered: a folder that cannot be reprocessed is said why",
        )
        typed.param.watch(self._folder_picked, "value")
        run = pn.widgets.Button(
            label="Run", color="primary", width=120, disabled=self.param.running
        )
        run.on_click(self._run_clicked)
        stop = pn.widgets.Button(
            label="Stop", color="danger", width=80, disabled=self.param.running.rx.not_()
        )
        stop.on_click(self._stop_clicked)
        save = pn.widgets.Button(label="Save as product version", color="success", width=220)
        save.on_click(self._save_clicked)
        return pn.Column(
            source,
            self._sync_state,
            typed,
            self.form,
            pn.Row(
                run,
                stop,
                pn.indicators.Progress.from_param(
                    self.param.progress, width=150, bar_color="info", margin=(15, 10)
                ),
            ),
            self._message,
            self._run_choices,
            pn.Row(
                pn.widgets.FloatInput.from_param(
                    self.param.fit_start_s, name="Fit from (s after T0)", width=150
                ),
                pn.widgets.FloatInput.from_param(
                    self.param.fit_stop_s, name="Fit to (s, 0 = no end)", width=150
                ),
            ),
            save,
            self._review_link,
            sizing_mode="stretch_width",
        )

    @guarded("Choosing the folder", LOG, say="_failed")
    def _folder_picked(self, event) -> None:
        self.folder = (event.new or "").strip()

    def _start_with_poll(self) -> None:
        self.start()
        if pn.state.curdoc is not None and self.running:
            callback = None

            def tick() -> None:
                if not self.poll() and callback is not None:
                    callback.stop()

            following = guarded("Following the run", LOG, say=self._failed)(tick)
            callback = pn.state.add_periodic_callback(following, period=300)

    def display(self) -> pn.Tabs:
        """Frames, the run shown (brought forward when a run finishes), the comparison."""
        tabs = pn.Tabs(
            ("Frames", self.images),
            ("Run", self.result),
            ("Compare runs", self.comparison),
            sizing_mode="stretch_width",
        )
        self.param.watch(
            guarded("Showing the run", LOG)(
                lambda event: setattr(tabs, "active", 1) if event.new else None
            ),
            "run_id",
        )
        return tabs

    def __panel__(self):
        return pn.Row(
            pn.Column(self.controls(), width=420), self.display(), sizing_mode="stretch_width"
        )


def shared_client_factory(stores) -> Callable:
    """The process's Dask client for the workspace's ``[gp2]`` settings, opened on first use."""
    config = stores.workspace.config.gp2
    return lambda: SharedClient.get(config)
