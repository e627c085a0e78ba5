"""What each image of a GP2 run is run with, before any task is submitted: the settings
of its steps, its masters (the config's, else those in force), reference and
catalogue, its folders, its stack, or why it is refused; and the frames' exposure
times (the telemetry rendezvous input)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from astropy.table import Table

from data_access.gp2.config import STEPS
from data_access.gp2.files import ImageInfo, output_folder, scan_images
from data_access.gp2.records import HeaderKeywords, RunPlan
from pipelines.gp2 import steps
from pipelines.gp2.steps import ImageInputs, StepContext

#: Master resolver: (caltype, instrument, filter) -> path of the master in force, or None.
MasterResolver = Callable[[str, str, str], "Path | None"]


def step_context(plan: RunPlan, keep_images: bool) -> StepContext:
    """The settings every step of ``plan`` reads, and which of its outputs it keeps."""
    return StepContext(
        settings={s: plan.settings_for(s) for s in STEPS},
        explicit=frozenset(plan.steps),
        keep_images=keep_images,
        keywords=plan.keywords,
        instrumental=plan.instrumental,
    )


def _fill(template: str, info: ImageInfo) -> str | None:
    if not template:
        return None
    return template.replace("{FILTER}", info.filter).replace("{INSTRUME}", info.instrument)


def resolve_inputs(info: ImageInfo, plan: RunPlan, masters: MasterResolver | None) -> ImageInputs:
    """One image's masters, reference and catalogue: the config's files, else those in force."""
    reduction = plan.settings_for("reduction")
    later = plan.settings_for("subtraction")
    found = {}
    for caltype in ("bias", "dark", "flat"):
        path = _fill(getattr(reduction, caltype), info)
        if path is None and masters is not None:
            in_force = masters(caltype, info.instrument, info.filter)
            path = str(in_force) if in_force else None
        found[caltype] = path
    return ImageInputs(
        **found,
        reference=_fill(later.reference, info),
        catalog=_fill(later.catalog or plan.settings_for("photometry").catalog, info),
    )


def masters_from_store(store) -> MasterResolver:
    """A master resolver over a :class:`~data_access.calibration.store.CalibrationStore`."""
    free = tuple(store.config.filter_free_types)

    def resolve(caltype: str, instrument: str, filter_: str) -> Path | None:
        return store.in_force(caltype, instrument, "NONE" if caltype in free else filter_)

    return resolve


def _summary_dir(output: Path, info: ImageInfo, headers: tuple[str, ...]) -> Path:
    return (
        output_folder(output, info.header, headers[:1], source=str(info.path))
        if headers
        else output
    )


def _stack_groups(names: list[str], infos: dict, size: int) -> list[list[str]]:
    groups = defaultdict(list)
    for name in names:
        info = infos[name]
        groups[(info.instrument, info.filter)].append(name)
    out = []
    for members in groups.values():
        out += [members[k : k + size] for k in range(0, len(members), max(1, size))]
    return out


def _uncalibrated(plan: RunPlan, inputs: dict) -> dict[str, str]:
    """The images photometry has no catalogue to calibrate, and why each is refused: the
    summary or subtraction needs their zero points; photometry asked for by name needs them
    unless instrumental magnitudes are asked for."""
    chain = plan.chain()
    needed_by = next((s for s in ("summary", "subtraction") if s in chain), None)
    if needed_by is None and ("photometry" not in plan.steps or plan.instrumental):
        return {}
    reason = steps.no_catalogue(needed_by)
    return {name: reason for name, found in inputs.items() if not found.catalog}


def image_times(paths: Sequence[Path | str], *, keywords: HeaderKeywords | None = None) -> Table:
    """Start and end of every frame's exposure (the telemetry rendezvous input).

    ``keywords`` are the header keywords read (default: ``[gp2]``'s defaults).

    Returns
    -------
    astropy.table.Table
        ``image_id``, ``path``, ``instrument``, ``filter``, ``t_start``, ``t_end`` (ISO UTC),
        ``exptime`` (s), time-ordered; unreadable files are left out.
    """
    infos, _ = scan_images(list(paths), keywords=keywords)
    return Table(
        rows=[
            (i.name, str(i.path), i.instrument, i.filter, i.t_start, i.t_end, i.exptime)
            for i in infos
        ],
        names=("image_id", "path", "instrument", "filter", "t_start", "t_end", "exptime"),
        dtype=(str, str, str, str, str, str, float),
    )
