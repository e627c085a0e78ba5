"""Reprocess views of a folder's frames: thumbnails, one frame's header, the telemetry at
each exposure and the calibration masters in force that night (both from
:mod:`pipelines.reprocess`). :class:`~app.views.reprocess.ReprocessDesk` composes them with the steps and the runs."""

from __future__ import annotations

import base64
import io
import logging

import numpy as np
import pandas as pd
import panel as pn
import param
from PIL import Image

from app.markup import html
from app.plots.images import zscale_limits
from app.views.feedback import guarded
from app.views.tables import paged_table
from data_access.calibration.store import CalibrationStore
from data_access.frame_quality import QualityStore
from data_access.gp2.runs import ReprocessStore
from data_access.telemetry.store import StatusStore
from pipelines.frame_quality import with_quality
from pipelines.reprocess import masters_at, telemetry_at

LOG = logging.getLogger("gic.reprocess")

#: Most thumbnails drawn for one folder.
MAX_THUMBNAILS = 24


# -- data for the eye ----------------------------------------------------------------------
def thumbnail_png(data: np.ndarray) -> bytes:
    """A frame's block means on a zscale stretch as a PNG (row 0 at the bottom)."""
    low, high = zscale_limits(data)
    scaled = np.clip((np.nan_to_num(data, nan=low) - low) / (high - low), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.flipud((scaled * 255).astype(np.uint8))).save(buffer, format="PNG")
    return buffer.getvalue()


# -- the frames of a folder ----------------------------------------------------------------
class FolderImages(pn.viewable.Viewer):
    """A folder's frames: thumbnails, one frame's header, the telemetry at each exposure and
    the calibration masters in force that night."""

    store = param.ClassSelector(class_=ReprocessStore, constant=True)
    folder = param.String(default="", doc="the folder of frames shown")
    image = param.Selector(default=None, objects=[], allow_None=True, doc="the header shown")

    def __init__(
        self,
        store: ReprocessStore,
        *,
        status: StatusStore | None = None,
        calibration: CalibrationStore | None = None,
        quality: QualityStore | None = None,
        **params,
    ) -> None:
        self.status, self.calibration, self.quality = status, calibration, quality
        self._images, self._headers = pd.DataFrame(), {}
        super().__init__(store=store, **params)
        self._load()

    @param.depends("folder", watch=True)
    @guarded("Reading the folder's frames", LOG)
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
            cards.append(
                pn.pane.HTML(
                    html(
                        "<figure style='margin:2px;text-align:center;font-size:11px'>"
                        "<img src='data:image/png;base64,{png}' width=120 height=120 alt='{name}' "
                        "title='{name}'/><figcaption>{filter} {start}</figcaption></figure>",
                        png=png,
                        name=row.name,
                        filter=row.filter,
                        start=str(row.t_start or "")[11:19],
                    ),
                    width=130,
                )
            )
        return pn.FlexBox(*cards, sizing_mode="stretch_width")

    @param.depends("folder")
    def _summary(self):
        columns = ["name", "instrument", "filter", "exptime", "t_start", "t_end"]
        if self._images.empty:
            return pn.Spacer(height=0)
        frames = self._images[columns]
        return paged_table(
            with_quality(self.quality, frames) if self.quality is not None else frames
        )

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
            self._thumbnails,
            self._summary,
            pn.Row(
                pn.Column(
                    "#### Header",
                    pn.widgets.Select.from_param(self.param.image, label="Frame"),
                    self._header,
                    sizing_mode="stretch_width",
                ),
                pn.Column(
                    "#### Telemetry at each exposure (nearest readings)",
                    self._telemetry,
                    "#### Calibration masters in force that night",
                    self._masters,
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )
