"""A burst's and a packet's detail on the Alerts page: the burst's summary and
observability, the packet's Params, trigger file and raw XML, and the flags of a row."""

from __future__ import annotations

import pandas as pd
import panel as pn

from app.markup import SafeMarkdown, bullets, burst_link, code, html, join, markdown, paragraphs
from app.views.tables import table
from data_access.alerts.store import AlertStore

#: The night's instants in the order a night brings them, as the burst's detail names them.
NIGHT_LABELS = {
    "sunset": "sunset",
    "evening_civil": "civil dusk",
    "evening_nautical": "nautical dusk",
    "evening_astronomical": "astronomical night from",
    "morning_astronomical": "to",
    "morning_nautical": "nautical dawn",
    "morning_civil": "civil dawn",
    "sunrise": "sunrise",
}


def alert_flags(alerts: pd.DataFrame) -> pd.Series:
    """'TEST', 'RETRACTION', 'RETRACTED' (or '') for each row, for the eye and the tests."""
    flags = pd.Series([""] * len(alerts), index=alerts.index, dtype=object)
    for column, word in (
        ("test", "TEST"),
        ("retraction", "RETRACTION"),
        ("retracted", "RETRACTED"),
    ):
        if column in alerts:
            marked = alerts[column].fillna(False).astype(bool)
            flags[marked] = (flags[marked] + " " + word).str.strip()
    return flags


def burst_summary(report: dict) -> pn.pane.Markdown:
    """The burst's heading, its dossier's link, T0, notices and best position, from its
    report (:meth:`~data_access.alerts.bursts.BurstQueries.report`)."""
    return pn.pane.Markdown(_burst_summary(report))


def _burst_summary(report: dict) -> SafeMarkdown:
    flags = alert_flags(pd.DataFrame([report])).iloc[0]
    return paragraphs(
        markdown("### {burst} {flags}", burst=report["burst_id"], flags=flags),
        markdown("Everything about it: the dossier of {link}", link=burst_link(report["burst_id"])),
        markdown(
            "T0 {t0} UTC; {count} notices from {instruments}",
            t0=report["t0"] or "unknown",
            count=report["notices"],
            instruments=report["instruments"] or "no instrument",
        ),
        markdown(
            "Best position RA {ra} deg, Dec {dec} deg, error radius {radius} deg, from {by}",
            ra=_number(report["ra"], 4),
            dec=_number(report["dec"], 4),
            radius=_number(report["error_deg"], 4),
            by=report["best_instrument"] or "no notice",
        ),
    )


def observability_summary(report: dict) -> pn.pane.Markdown:
    """The burst seen from the site: altitude, airmass, rise and set, the Moon, the coming
    night's instants and its dark hours above the lowest altitude."""
    return pn.pane.Markdown(_observability_summary(report))


def _observability_summary(report: dict) -> SafeMarkdown:
    seen, night = report["observability"], report["observability"]["night"]
    return paragraphs(
        markdown("#### Seen from {site} at {at}", site=report["site"], at=seen["at"]),
        bullets(
            [
                markdown(
                    "altitude {alt} deg, airmass {airmass}; next rise {rise}, next set {set}",
                    alt=_number(seen["altitude_deg"], 1),
                    airmass=_number(seen["airmass"], 2),
                    rise=seen["next_rise"] or "none within a day",
                    set=seen["next_set"] or "none within a day",
                ),
                markdown(
                    "Moon {sep} deg away, {lit} % illuminated, at altitude {alt} deg",
                    sep=_number(seen["moon_separation_deg"], 1),
                    lit=_number(100 * seen["moon_illumination"], 0),
                    alt=_number(seen["moon_altitude_deg"], 1),
                ),
                join(
                    markdown("; "),
                    (
                        markdown("{label} {when}", label=label, when=night[key] or "none")
                        for key, label in NIGHT_LABELS.items()
                    ),
                ),
                markdown(
                    "{hours} h of astronomical night above {limit:.0f} deg",
                    hours=_number(seen["dark_hours_above_min_altitude"], 1),
                    limit=seen["min_altitude_deg"],
                ),
            ]
        ),
    )


def packet_detail(detail: dict, store: AlertStore) -> pn.Column:
    """One packet (:meth:`~data_access.alerts.store.AlertStore.alert`): its heading, IVORN,
    times, position, retractions, Params, the burst's trigger file and the raw XML."""
    params = pd.DataFrame(
        [
            {"param": k, "value": v, "unit": detail["units"].get(k, "")}
            for k, v in detail["params"].items()
        ]
    )
    flags = alert_flags(pd.DataFrame([detail]).assign(test=detail["role"] == "test")).iloc[0]
    lines = [
        markdown(
            "### {name} {flags}",
            name=detail["burst_id"] or detail["event_id"] or "no burst ID",
            flags=flags,
        ),
        code(detail["ivorn"]),
        markdown(
            "T0 {t0} UTC (MJD {mjd}); {mission} {instrument}; role {role}; packet type {kind}",
            t0=_when(detail["t0"]),
            mjd=_number(detail["t0_mjd"], 5),
            mission=detail["mission"],
            instrument=detail["instrument"],
            role=detail["role"],
            kind=detail["packet_type"],
        ),
        markdown(
            "RA {ra} deg, Dec {dec} deg, error radius {radius} deg",
            ra=_number(detail["ra"], 4),
            dec=_number(detail["dec"], 4),
            radius=_number(detail["error_deg"], 4),
        ),
    ]
    if detail["retracted_by"]:
        lines += [markdown("Retracted by:"), bullets(code(i) for i in detail["retracted_by"])]
    trigger = store.trigger_file(detail["burst_id"]) if detail["burst_id"] else None
    parts = [pn.pane.Markdown(paragraphs(*lines)), table(params, height=300)]
    if trigger is not None:
        parts.append(_preformatted(trigger.name, trigger.read_text(encoding="utf-8")))
    parts.append(_preformatted("raw XML", detail["raw_xml"]))
    return pn.Column(*parts, sizing_mode="stretch_width")


def _when(moment) -> str:
    return (
        "unknown" if pd.isna(moment) else pd.Timestamp(moment).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    )


def _number(value, digits: int) -> str:
    return "unknown" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def _preformatted(title: str, text: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        html(
            "<b>{title}</b><pre style='max-height:320px;overflow:auto;background:#f6f8fa;"
            "padding:6px'>{text}</pre>",
            title=title,
            text=text,
        ),
        sizing_mode="stretch_width",
    )
