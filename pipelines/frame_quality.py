"""Each frame's image quality recorded as GP2 processes it, with the telemetry at its exposure.

A GP2 run leaves in each frame's header what its reduction, source finding and photometry
measured (:mod:`pipelines.gp2.steps`); :func:`run_quality` turns every frame of a run into a
:class:`~analysis.frame_quality.FrameQuality` (a stack is not a frame of the night and is
left out, as is a frame that failed), and :class:`QualityRecorder` stores them with the
readings at each exposure (:func:`pipelines.reprocess.telemetry_at`, the dossier's join).
Use::

    recorder = QualityRecorder.from_stores(stores)
    reprocess(..., quality=recorder)            # a Reprocess run records its frames
    recorder.record_run(result, keywords=plan.keywords, run_id="20261202T0300_sb26120190")
    with_quality(stores.quality, frames)        # a table of frames with their verdict
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import astropy.units as u
import pandas as pd
from astropy.time import Time

from analysis.frame_quality import FrameQuality, quality_from_header
from analysis.observability import Site
from data_access.alerts.trigger_extras import telescope_site
from data_access.frame_quality import QualityStore
from data_access.gp2.records import HeaderKeywords, ImageResult, RunResult
from data_access.telemetry.store import StatusStore
from pipelines.reprocess import telemetry_at

log = logging.getLogger("gic.quality")


def _is_frame(image: ImageResult) -> bool:
    """A frame GP2 processed whole: not failed, timed, and not a stack of frames."""
    if image.error is not None or image.header is None or not image.t_start:
        return False
    return int(image.header.get("NCOMBINE", 1) or 1) <= 1 and image.exptime > 0


def image_quality(
    image: ImageResult, keywords: HeaderKeywords, site: Site | None, *, source: str = "gp2"
) -> FrameQuality:
    """The quality figures of one processed frame (see :func:`quality_from_header`)."""
    start = Time(image.t_start, format="isot", scale="utc")
    return quality_from_header(
        image.header,
        image.sources,
        image_id=image.name,
        instrument=keywords.text(image.header, "instrument"),
        filter_name=image.filter,
        t_mid=start + image.exptime / 2 * u.s,
        exptime=image.exptime,
        site=site,
        source=source,
    )


def run_quality(
    result: RunResult, keywords: HeaderKeywords, site: Site | None
) -> list[tuple[ImageResult, FrameQuality]]:
    """Every frame of a run with its quality figures, in the run's order."""
    return [(i, image_quality(i, keywords, site)) for i in result.images if _is_frame(i)]


@dataclass(frozen=True)
class QualityRecorder:
    """Records the quality of the frames a GP2 run processed (the run's hook).

    Attributes
    ----------
    quality : QualityStore
    status : StatusStore or None
        Where the telemetry at each exposure is read (None: no telemetry).
    site : Site or None
        The telescope, for the airmass of a frame whose header gives none.
    """

    quality: QualityStore
    status: StatusStore | None
    site: Site | None

    @classmethod
    def from_stores(cls, stores) -> QualityRecorder:
        """The recorder of a workspace's :class:`~data_access.stores.Stores`."""
        return cls(stores.quality, stores.status, telescope_site(stores.workspace.config.site))

    def record_run(self, result: RunResult, *, keywords: HeaderKeywords, run_id: str = "") -> int:
        """Store the quality of every frame of ``result``; returns the frames recorded."""
        measured = run_quality(result, keywords, self.site)
        if not measured:
            return 0
        readings = self.telemetry([q for _, q in measured])
        count = self.quality.record(
            [q for _, q in measured],
            paths=[image.path for image, _ in measured],
            telemetry=readings,
            run_id=run_id,
        )
        log.info("frame quality of %d frames recorded (run %s)", count, run_id or "-")
        return count

    def telemetry(self, records: list[FrameQuality]) -> list[dict]:
        """The readings at each record's exposure (column → text; {} without a status store)."""
        if self.status is None:
            return [{} for _ in records]
        images = pd.DataFrame(
            {
                "name": [q.image_id for q in records],
                "instrument": [q.instrument for q in records],
                "t_mid": pd.to_datetime([q.t_mid for q in records]),
            }
        )
        table = telemetry_at(self.status, images).drop(columns=["image", "t_mid"])
        return [
            {key: value for key, value in row.items() if value != "" and not _missing(value)}
            for row in table.to_dict("records")
        ]


def _missing(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


#: The verdict of a frame within the limits (one outside gives its reasons; an unmeasured one '').
WITHIN = "within the limits"


def with_quality(
    quality: QualityStore, frames: pd.DataFrame, *, name: str = "name"
) -> pd.DataFrame:
    """A table of frames with a ``quality`` column: why the frame lies outside the
    ``[quality]`` limits (``outside: FWHM 3.40" > 3"``), :data:`WITHIN`, or '' when its quality
    was never recorded; frames are matched by their ``name`` column (the record's image_id)."""
    records = quality.of_images(list(frames[name])) if len(frames) else pd.DataFrame()
    verdicts = {
        row.image_id: f"outside: {row.outside}" if row.outside else WITHIN
        for row in records.itertuples()
    }
    return frames.assign(quality=[verdicts.get(n, "") for n in frames[name]])
