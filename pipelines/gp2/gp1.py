"""The notes' GP1 level: watch an input folder, route each new image to its pipeline instance.

GP1 manages several instances of the pipeline at once (the notes: svom and colibri),
each fed the images whose headers match its ``identifier_header`` /
``identifier_value``. Every new frame of the input folder is processed once: a ledger
in ``log_path`` (``gp1_processed.tsv``: file, instance, status, reason) remembers what
was done across restarts. An image no instance claims is reported and recorded; an
image that fails is reported and recorded; neither stops the others. Online mode is
image by image (the per-image modules of the instance's pipeline); the burst's summary
is the offline pipeline's (``gic pipeline``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from data_access.fits_frames import FrameError, fits_files_in
from data_access.gp2.config import Gp1Instance, Gp1Settings, read_pipeline_config
from data_access.gp2.files import describe_image
from data_access.gp2.records import HeaderKeywords
from data_access.safe_files import write_atomic
from pipelines.gp2.planning import MasterResolver
from pipelines.gp2.runner import RunPlan, run_burst

log = logging.getLogger("gic.gp1")

LEDGER = "gp1_processed.tsv"


@dataclass(frozen=True)
class Gp1Outcome:
    """What GP1 did with one image: ``status`` is processed, failed or unrouted."""

    path: str
    instance: str
    status: str
    reason: str = ""


class Gp1Runner:
    """Routes the new images of GP1's input folder to the matching pipeline instances.

    Parameters
    ----------
    settings : Gp1Settings
        GP1's file (:func:`~data_access.gp2.config.read_gp1_config`).
    client : distributed.Client, optional
        Where the pipelines run (None: in this process).
    masters : callable, optional
        Resolver of the masters in force (see :func:`~pipelines.gp2.planning.masters_from_store`).
    settle_s : float, optional
        A file younger than this (s since its last change) is left for the next look,
        so that a frame still being written is not read half-way.
    keywords : HeaderKeywords, optional
        The header keywords the frames are read with (``[gp2] *_key``).
    """

    def __init__(
        self,
        settings: Gp1Settings,
        *,
        client=None,
        masters: MasterResolver | None = None,
        settle_s: float = 1.0,
        keywords: HeaderKeywords | None = None,
    ) -> None:
        self.settings = settings
        self.keywords = keywords or HeaderKeywords()
        self.client = client
        self.masters = masters
        self.settle_s = settle_s
        self.log_dir = Path(settings.log_path or settings.input)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.ledger = self.log_dir / LEDGER
        self._ledger_text = self.ledger.read_bytes().decode("utf-8") if self.ledger.exists() else ""
        self.seen = {
            row[0]
            for row in csv.reader(io.StringIO(self._ledger_text, newline=""), delimiter="\t")
            if row
        }
        self._plans: dict[str, RunPlan] = {}

    def _record(self, outcome: Gp1Outcome) -> None:
        """Add the outcome to the ledger (the whole ledger rewritten atomically)."""
        row = io.StringIO(newline="")
        csv.writer(row, delimiter="\t").writerow(
            [outcome.path, outcome.instance, outcome.status, outcome.reason.replace("\n", " ")]
        )
        self._ledger_text += row.getvalue()
        write_atomic(self.ledger.parent, self.ledger.name, self._ledger_text.encode("utf-8"))
        self.seen.add(outcome.path)
        level = logging.INFO if outcome.status == "processed" else logging.WARNING
        log.log(
            level,
            "%s → %s: %s %s",
            outcome.path,
            outcome.instance or "-",
            outcome.status,
            outcome.reason,
        )

    def plan_of(self, instance: Gp1Instance) -> RunPlan:
        """The instance's pipeline (read once), its per-image modules only (online mode)."""
        if instance.name not in self._plans:
            pipeline = read_pipeline_config(instance.configuration_path_dir)
            plan = RunPlan.from_pipeline(pipeline, keywords=self.keywords)
            self._plans[instance.name] = dataclasses.replace(
                plan,
                steps=tuple(s for s in plan.steps if s not in ("stacking", "summary"))
                or ("reduction",),
            )
        return self._plans[instance.name]

    def new_images(self) -> list[Path]:
        """Frames of the input folder not yet processed and settled."""
        now = time.time()
        return [
            p
            for p in fits_files_in([self.settings.input])
            if str(p) not in self.seen and now - p.stat().st_mtime >= self.settle_s
        ]

    def route(self, path: Path) -> Gp1Instance | None:
        """The first instance whose identifiers match the image's header (None: no instance)."""
        header = describe_image(path, self.keywords).header
        matching = [i for i in self.settings.instances if i.matches(header)]
        if len(matching) > 1:
            log.warning(
                "%s matches %s; sent to %s only", path, [i.name for i in matching], matching[0].name
            )
        return matching[0] if matching else None

    def poll(self) -> list[Gp1Outcome]:
        """One look at the input folder: route and process every new image."""
        batches: dict[str, list[Path]] = {}
        outcomes = []
        for path in self.new_images():
            try:
                instance = self.route(path)
            except (FrameError, OSError) as exc:
                outcomes.append(Gp1Outcome(str(path), "", "failed", str(exc)))
                self._record(outcomes[-1])
                continue
            if instance is None:
                keys = sorted({k for i in self.settings.instances for k in i.identifier_header})
                outcomes.append(
                    Gp1Outcome(
                        str(path), "", "unrouted", f"no instance matches its {', '.join(keys)}"
                    )
                )
                self._record(outcomes[-1])
                continue
            batches.setdefault(instance.name, []).append(path)
        instances = {i.name: i for i in self.settings.instances}
        with ThreadPoolExecutor(max_workers=max(1, len(batches))) as pool:  # the instances at once
            done = pool.map(lambda item: self._run(instances[item[0]], item[1]), batches.items())
            for batch in done:
                for outcome in batch:
                    self._record(outcome)
                    outcomes.append(outcome)
        return outcomes

    def _run(self, instance: Gp1Instance, paths: list[Path]) -> list[Gp1Outcome]:
        try:
            plan = self.plan_of(instance)
        except (OSError, ValueError) as exc:
            return [
                Gp1Outcome(str(p), instance.name, "failed", f"instance configuration: {exc}")
                for p in paths
            ]
        output = Path(
            instance.workspace_dir
            or plan.settings_for("pipeline").output
            or self.log_dir / instance.name
        )
        result = run_burst(paths, plan, output=output, client=self.client, masters=self.masters)
        failed = {name: reason for name, reason in result.failures}
        return [
            Gp1Outcome(
                str(p),
                instance.name,
                "failed" if str(p) in failed else "processed",
                failed.get(str(p), ""),
            )
            for p in paths
        ]

    def watch(
        self,
        *,
        max_seconds: float | None = None,
        once: bool = False,
        on_outcome: Callable[[Gp1Outcome], None] | None = None,
    ) -> list[Gp1Outcome]:
        """Poll every ``poll_s`` seconds until ``max_seconds`` have passed (forever when None)."""
        started = time.monotonic()
        everything = []
        while True:
            for outcome in self.poll():
                everything.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
            if once or (max_seconds is not None and time.monotonic() - started >= max_seconds):
                return everything
            time.sleep(self.settings.poll_s)
