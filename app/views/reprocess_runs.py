"""Reprocess views of finished runs: one run (a frame with its sources and candidates, the
difference image, the candidate table, the light curve with its decay fits: per filter as
the QTI product makes them, and the run's joint α), and two runs side by side. :class:`~app.views.reprocess.ReprocessDesk` composes them."""

from __future__ import annotations

import logging

import pandas as pd
import panel as pn
import param

from analysis.afterglow import DecayFit, fit_filters
from app.markup import SafeMarkdown, bullets, burst_link, code, markdown, paragraphs
from app.plots.products import plot_light_curve
from app.plots.reprocess import light_curve_points, plot_frame
from app.views.feedback import guarded
from app.views.tables import paged_table
from data_access.alerts.bursts import BurstQueries
from data_access.gp2.run_folder import StoredRun
from data_access.gp2.runs import ReprocessStore

LOG = logging.getLogger("gic.reprocess")

#: The column of the magnitude difference between two runs (second − first), mag.
DMAG = "Δmag"


def alert_position(alerts, burst_id: str) -> tuple[float, float, float] | None:
    """The burst's best position and its error radius (deg) from its alerts
    (:meth:`~data_access.alerts.bursts.BurstQueries.burst`), or None when none gives one."""
    if alerts is None:
        return None
    burst = BurstQueries(alerts.cache, alerts.triggers_dir).burst(burst_id)
    if burst is None or pd.isna(burst["ra"]) or pd.isna(burst["dec"]):
        return None
    error = 0.0 if pd.isna(burst["error_deg"]) else float(burst["error_deg"])
    return float(burst["ra"]), float(burst["dec"]), error


def run_image_plot(run: StoredRun, name: str, kind: str, *, title: str, alerts=None, sources=None):
    """The ``reduced`` or ``difference`` image of frame ``name`` of a run with its candidates
    (red, yellow: the transient) and ``sources`` (green) drawn over it, in RA/Dec and with
    the alert's position and error circle when the image has a WCS; None when the run kept
    no such image."""
    found = run.image(name, kind)
    if found is None:
        return None
    data, block = found
    candidates = run.candidates
    return plot_frame(
        data,
        block=block,
        title=title,
        sources=sources,
        candidates=candidates[candidates["image_id"] == name] if len(candidates) else None,
        candidate_xy=("x_frame", "y_frame") if kind == "reduced" else ("x", "y"),
        wcs=run.display_wcs(name, kind),
        alert=alert_position(alerts, run.meta["burst_id"]),
    )


# -- one run -----------------------------------------------------------------------------------
class RunView(pn.viewable.Viewer):
    """A finished run: its summary, a frame with its sources and candidates drawn over it, the
    difference image, the candidate table and the light curve with the decay fit of each
    filter."""

    store = param.ClassSelector(class_=ReprocessStore, constant=True)
    run_id = param.String(default="", doc="the run shown")
    image = param.Selector(default=None, objects=[], allow_None=True, doc="the frame shown")

    def __init__(self, store: ReprocessStore, *, alerts=None, **params) -> None:
        self.run: StoredRun | None = None
        self.alerts = alerts
        super().__init__(store=store, **params)
        self._load()

    @param.depends("run_id", watch=True)
    @guarded("Reading the run", LOG)
    def _load(self) -> None:
        self.run = self.store.load(self.run_id) if self.run_id else None
        names = (
            list(self.run.images["name"]) if self.run is not None and len(self.run.images) else []
        )
        self.param.image.objects = names
        self.image = names[0] if names else None

    def summary(self) -> SafeMarkdown:
        if self.run is None:
            return markdown("*No run yet: choose the steps and press Run, or pick a stored run.*")
        meta = self.run.meta
        lines = [
            markdown(
                "**Run {run}** of {source} ({burst}) by {user}, {started} → {finished}",
                run=meta["run_id"],
                source=code(meta["source"]),
                burst=burst_link(meta["burst_id"]),
                user=meta["user"],
                started=meta["started_at"],
                finished=meta["finished_at"],
            ),
            markdown(
                "Steps: {steps} (ran: {chain}); {n} images, {failed} left out",
                steps=", ".join(meta["steps"]),
                chain=", ".join(meta["chain"]),
                n=len(self.run.images),
                failed=len(meta["failures"]),
            ),
        ]
        if meta.get("transient"):
            ra, dec, n = meta["transient"]
            lines.append(
                markdown(
                    "Transient at RA {ra:.5f}°, Dec {dec:.5f}° (candidate in {n} images)",
                    ra=ra,
                    dec=dec,
                    n=n,
                )
            )
        if meta.get("decay"):
            d = meta["decay"]
            lines.append(
                markdown(
                    "Joint decay index (one α for every filter) α = {index:.3f} ± "
                    "{err:.3f} (χ² {chi2:.1f} for {ndof} dof)",
                    index=d["index"],
                    err=d["index_err"],
                    chi2=d["chi2"],
                    ndof=d["ndof"],
                )
            )
        fits = self.decay_fits()
        if fits:
            lines.append(markdown("Decay index per filter (as the QTI product's FITINDEX):"))
            lines.append(bullets(self._fit_line(name, fit) for name, fit in fits.items()))
        if meta["failures"]:
            lines.append(
                bullets(
                    markdown("left out {name}: {reason}", name=code(name), reason=reason)
                    for name, reason in meta["failures"]
                )
            )
        return paragraphs(*lines)

    @staticmethod
    def _fit_line(name: str, fit: DecayFit) -> SafeMarkdown:
        if not fit.valid:
            return markdown("{name}: no fit ({reason})", name=name, reason=fit.reason)
        line = markdown(
            "{name}: α = {index:.3f} ± {err:.3f} ({n} detections, χ² {chi2:.1f})",
            name=name,
            index=fit.index,
            err=fit.index_err,
            n=fit.n_points,
            chi2=fit.chi2,
        )
        if not fit.prefers_broken:
            return line
        broken = fit.broken
        return markdown(
            "{line}; broken power law preferred (BIC): α₁ = {a1:.3f} ± {e1:.3f}, "
            "α₂ = {a2:.3f} ± {e2:.3f}, break at {tb:.4g} ± {etb:.2g} s",
            line=line,
            a1=broken.index1,
            e1=broken.index1_err,
            a2=broken.index2,
            e2=broken.index2_err,
            tb=broken.t_break,
            etb=broken.t_break_err,
        )

    def decay_fits(self) -> dict[str, DecayFit]:
        """Per filter, the power-law fit of the run's detections at mid-exposure times: the
        fit the QTI product makes of the same photometry (:func:`analysis.afterglow.fit_filters`)."""
        points = self.light_curve()
        if points.empty:
            return {}
        seen = points[points["detected"]]
        return fit_filters(seen["t_s"], seen["mag"], seen["mag_err"], seen["filter"])

    def sources(self) -> pd.DataFrame:
        frame = self.run.sources if self.run is not None else pd.DataFrame()
        return frame[frame["image_id"] == self.image] if len(frame) else frame

    def candidates(self) -> pd.DataFrame:
        frame = self.run.candidates if self.run is not None else pd.DataFrame()
        return frame[frame["image_id"] == self.image] if len(frame) else frame

    def alert_position(self) -> tuple[float, float, float] | None:
        """The burst's best position and error radius (deg): :func:`alert_position`."""
        return alert_position(self.alerts, self.run.meta["burst_id"]) if self.run else None

    def frame_wcs(self):
        """The shown frame's celestial WCS (from the frame the run read), or None."""
        return self.run.display_wcs(self.image, "reduced") if self.run and self.image else None

    def frame_plot(self):
        """The reduced frame with its sources (green) and candidates drawn over it
        (:func:`run_image_plot`); None when the run kept no reduced image."""
        if self.run is None or not self.image:
            return None
        title = f"{self.image}: reduced (zscale)"
        return run_image_plot(
            self.run, self.image, "reduced", title=title, alerts=self.alerts, sources=self.sources()
        )

    def difference_plot(self):
        """The difference image with its candidates drawn over it (:func:`run_image_plot`);
        None when the run kept no difference image."""
        if self.run is None or not self.image:
            return None
        title = f"{self.image}: difference (zscale)"
        return run_image_plot(self.run, self.image, "difference", title=title, alerts=self.alerts)

    def light_curve(self) -> pd.DataFrame:
        if self.run is None or self.run.light_curve.empty:
            return pd.DataFrame()
        return light_curve_points(self.run.light_curve, self.run.meta["t0"])

    @param.depends("run_id")
    def _summary(self):
        return pn.pane.Markdown(self.summary(), sizing_mode="stretch_width")

    @param.depends("run_id", "image")
    def _frames(self):
        plots = [p for p in (self.frame_plot(), self.difference_plot()) if p is not None]
        if not plots:
            return pn.pane.Markdown("" if self.run is None else "This run kept no image.")
        return pn.Row(
            *(pn.pane.HoloViews(p, sizing_mode="stretch_width", min_height=460) for p in plots),
            sizing_mode="stretch_width",
        )

    @param.depends("run_id", "image")
    def _candidates(self):
        frame = self.candidates()
        if frame.empty:
            return pn.pane.Markdown("No candidate in this frame." if self.run else "")
        shown = [
            c
            for c in ("image_id", "filter", "x", "y", "ra", "dec", "snr", "flux", "transient")
            if c in frame
        ]
        return paged_table(frame[shown])

    @param.depends("run_id")
    def _light_curve(self):
        points = self.light_curve()
        if points.empty:
            return pn.pane.Markdown(
                "No light curve: run the summary step (and its T0)." if self.run else ""
            )
        return pn.pane.Bokeh(
            plot_light_curve(
                points,
                self.decay_fits(),
                height=340,
                title="light curve (decay fit per filter dashed)",
            ),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.Column(
            self._summary,
            pn.widgets.Select.from_param(self.param.image, label="Frame shown", width=360),
            self._frames,
            "#### Candidates of this frame",
            self._candidates,
            "#### Light curve",
            self._light_curve,
            sizing_mode="stretch_width",
        )


class RunComparison(pn.viewable.Viewer):
    """Two runs side by side: the parameters that differ, the photometry, the difference
    images of one frame."""

    store = param.ClassSelector(class_=ReprocessStore, constant=True)
    first = param.String(default="")
    second = param.String(default="")
    image = param.String(default="", doc="the frame whose difference images are shown")

    def __init__(self, store: ReprocessStore, *, alerts=None, **params) -> None:
        self.alerts = alerts
        super().__init__(store=store, **params)

    def _runs(self) -> tuple[StoredRun, StoredRun] | None:
        if not self.first or not self.second:
            return None
        return self.store.load(self.first), self.store.load(self.second)

    def parameters(self) -> pd.DataFrame:
        """Steps and every parameter that differs between the two runs."""
        runs = self._runs()
        if runs is None:
            return pd.DataFrame(columns=["item", "first", "second"])
        a, b = (r.meta for r in runs)
        rows = [("steps", ", ".join(a["steps"]), ", ".join(b["steps"]))]
        for key in sorted(set(a["parameters"]) | set(b["parameters"])):
            rows.append((key, str(a["parameters"].get(key)), str(b["parameters"].get(key))))
        for key in sorted(set(a["calibration"]) | set(b["calibration"])):
            rows.append((key, str(a["calibration"].get(key)), str(b["calibration"].get(key))))
        frame = pd.DataFrame(rows, columns=["item", "first", "second"], dtype=str)
        return frame[frame["first"] != frame["second"]].reset_index(drop=True)

    def photometry(self) -> pd.DataFrame:
        """Per image: both runs' magnitudes and limits side by side, and Δmag (second − first,
        mag)."""
        runs = self._runs()
        if runs is None or any(r.light_curve.empty for r in runs):
            return pd.DataFrame(columns=["image_id", "filter", "mag_first", "mag_second", DMAG])
        columns = ["image_id", "filter", "mag", "mag_err", "detected", "limit_mag"]
        merged = (
            runs[0]
            .light_curve[columns]
            .merge(
                runs[1].light_curve[columns],
                on=["image_id", "filter"],
                how="outer",
                suffixes=("_first", "_second"),
            )
        )
        merged[DMAG] = merged["mag_second"] - merged["mag_first"]
        order = ["image_id", "filter", "mag_first", "mag_second", DMAG]
        return merged[order + [c for c in merged if c not in order]]

    def by_filter(self) -> pd.DataFrame:
        """Per filter: the images measured by both runs, the median Δmag and the largest
        |Δmag| (mag)."""
        photometry = self.photometry().dropna(subset=[DMAG])
        grouped = photometry.groupby("filter", sort=True)[DMAG]
        return pd.DataFrame(
            {
                "images": grouped.size(),
                f"median {DMAG}": grouped.median(),
                f"largest |{DMAG}|": grouped.apply(lambda d: d.abs().max()),
            }
        ).reset_index()

    def light_curves(self) -> pd.DataFrame:
        """Both runs' light curves in one table, each filter named with its run
        (``g, first``), as :func:`~app.plots.products.plot_light_curve` draws them."""
        runs = self._runs()
        if runs is None:
            return pd.DataFrame()
        curves = [
            light_curve_points(run.light_curve, run.meta["t0"]).pipe(
                lambda p, label=label: p.assign(filter=p["filter"] + f", {label}")
            )
            for label, run in zip(("first", "second"), runs, strict=True)
            if not run.light_curve.empty
        ]
        return pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()

    @param.depends("first", "second")
    def _light_curves(self):
        points = self.light_curves()
        if points.empty:
            return pn.pane.Markdown("No light curve in these runs: run the summary step.")
        seen = points[points["detected"]]
        fits = fit_filters(seen["t_s"], seen["mag"], seen["mag_err"], seen["filter"])
        return pn.pane.Bokeh(
            plot_light_curve(points, fits, height=340, title="both runs' light curves"),
            sizing_mode="stretch_width",
        )

    @param.depends("first", "second")
    def _tables(self):
        if self._runs() is None:
            return pn.pane.Markdown("*Pick two runs to compare.*")
        parameters = self.parameters()
        return pn.Column(
            "#### What differs",
            paged_table(parameters)
            if len(parameters)
            else pn.pane.Markdown("Same steps, parameters and calibration files."),
            f"#### Photometry side by side ({DMAG} = second − first)",
            paged_table(self.by_filter()),
            paged_table(self.photometry(), page_size=12),
            "#### Light curves of both runs",
            self._light_curves,
            sizing_mode="stretch_width",
        )

    @param.depends("first", "second", "image")
    def _differences(self):
        runs = self._runs()
        if runs is None:
            return pn.Spacer(height=0)
        name = self.image or next(iter(runs[0].images["name"]), "")
        panes = []
        for label, run in zip(("first", "second"), runs, strict=True):
            kind = "difference" if run.image(name, "difference") is not None else "reduced"
            title = f"{label}: {run.run_id} ({kind})"
            plot = run_image_plot(run, name, kind, title=title, alerts=self.alerts)
            if plot is None:
                panes.append(
                    pn.pane.Markdown(
                        markdown("{label} run: no image of {name}", label=label, name=name),
                        width=400,
                    )
                )
                continue
            panes.append(pn.pane.HoloViews(plot, sizing_mode="stretch_width", min_height=400))
        return pn.Row(*panes, sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Column(self._tables, self._differences, sizing_mode="stretch_width")
