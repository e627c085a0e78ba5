"""Hostile text: one set of payloads, and a demo workspace with them injected through the real
path of every outside source (VOEvent packets, NATS messages, status files, calibration
reports, FITS frames, photometry and product reviews, user names).

Each payload runs a marker, ``window.__gic_xss=NNNN;alert(NNNN)``, whose number names the
source (first two digits, :data:`SOURCES`) and the payload (last two, :data:`PAYLOADS`), so a
browser that ran one says which text ran and where it came from (:func:`describe_mark`).
Where a field is too narrow for it the shorter ``alert(NNNN)`` is used.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import quoteattr

import numpy as np
from astropy.io import fits
from astropy.time import Time

from analysis.frame_quality import FrameQuality
from analysis.products import Burst
from analysis.products.photometry import photometry_csv
from analysis.products.synthetic import synthetic_photometry
from data_access.alerts.receive import receive_operations_message, receive_packet
from data_access.alerts.trigger_files import QuarantinedPacketError
from data_access.products.files import read_photometry_file
from data_access.stores import Stores
from data_access.telemetry.sources import sync_status
from data_access.users import UsersFile
from data_access.workspace import Workspace


class Payload(NamedTuple):
    """A hostile text: what it tries, and its template (``$JS`` stands for the marker)."""

    kind: str
    template: str


#: The payloads, numbered from 1 in this order (the marker's last two digits).
PAYLOADS: tuple[Payload, ...] = (
    Payload("script tag", "<script>$JS</script>"),
    Payload("img onerror, unquoted", "<img src=x onerror=$JS>"),
    Payload("svg onload, unquoted", "<svg onload=$JS>"),
    Payload("double-quoted attribute closed, onmouseover", '" onmouseover="$JS" x="'),
    Payload("double-quoted attribute closed, autofocus onfocus", '" autofocus onfocus="$JS" x="'),
    Payload("single-quoted attribute closed, autofocus onfocus", "' autofocus onfocus='$JS' '"),
    Payload("javascript: URL", "javascript:$JS"),
    Payload("markdown link to a javascript: URL", "[x](javascript:$JS)"),
    Payload("markdown closing a code span", "` <img src=x onerror=$JS> `"),
    Payload("closing pre, then a script tag", "</pre><script>$JS</script>"),
    Payload("right-to-left override, then img", "\u202e<img src=x onerror=$JS>"),
    Payload("zero-width joiners around svg", "\u200d<svg onload=$JS>\u200d"),
    Payload("fullwidth script tag", "\uff1cscript\uff1e$JS\uff1c\uff0fscript\uff1e"),
    Payload("HTML entities of an img tag", "&lt;img src=x onerror=$JS&gt;"),
)

#: Where a page shows the hostile text of a source: no page (only nothing may run).
NOWHERE: tuple[str, ...] = ()
CALIBRATION_PAGES = ("bias", "dark", "flat")


@dataclass(frozen=True)
class Source:
    """An outside field that text comes in by; ``code`` is the marker's first two digits.

    ``pages`` are the pages that show its text; ``width`` the most characters the path
    takes, ``ascii_only`` for FITS fields, ``forbidden`` characters the path refuses.
    """

    code: int
    name: str
    pages: tuple[str, ...] = NOWHERE
    width: int | None = None
    ascii_only: bool = False
    forbidden: str = ""

    def refusal(self, text: str) -> str | None:
        """Why this source's path cannot take ``text``, or None when it can."""
        if self.width is not None and len(text) > self.width:
            return f"longer than the {self.width} characters the field holds"
        if self.ascii_only and not text.isascii():
            return "not ASCII (FITS holds ASCII only)"
        if any(c in text for c in self.forbidden):
            return f"holds one of {' '.join(self.forbidden)}, which the path refuses"
        return None


def _sources(*rows: tuple) -> dict[str, Source]:
    return {key: Source(code, name, *rest) for key, code, name, *rest in rows}


#: Every outside source, by key.
SOURCES: dict[str, Source] = _sources(
    ("voevent_ivorn", 10, "VOEvent ivorn", ("alerts",)),
    ("voevent_instrument", 11, "VOEvent Param Instrument", ("alerts",)),
    ("voevent_graceid", 12, "VOEvent Param GraceID", ("alerts",)),
    ("voevent_trigid", 13, "VOEvent Param TrigID", ("alerts",)),
    ("voevent_author", 14, "VOEvent Who/Author/shortName", ("alerts",)),
    ("voevent_description", 15, "VOEvent How/Description", ("alerts",)),
    ("voevent_param_name", 16, "VOEvent Param name", ("alerts",)),
    ("voevent_param_value", 17, "VOEvent Param value", ("alerts",)),
    ("voevent_param_unit", 18, "VOEvent Param unit", ("alerts",)),
    ("quarantine_reason", 19, "quarantined packet's reason (its role)", ("alerts",)),
    ("nats_text", 20, "NATS operations message text", ("alerts",)),
    ("nats_kind", 21, "NATS operations message kind", ("alerts",)),
    ("nats_burst", 22, "NATS operations message burst_id", ("alerts",)),
    ("status_name", 30, "status record name", ("telemetry",)),
    ("status_pretty_name", 31, "status record pretty_name", ("telemetry",)),
    ("status_subsystem", 32, "status record subsystem", ("telemetry",)),
    ("status_component", 33, "status record component", ("telemetry",)),
    ("status_group", 34, "status record group", ("telemetry",)),
    ("status_unit", 35, "status record unit", ("telemetry",)),
    ("status_string_value", 36, "status record string value", ("telemetry",)),
    ("calibration_im_name", 40, "calibration report IM_NAME", CALIBRATION_PAGES),
    ("calibration_instrume", 41, "calibration report INSTRUME", CALIBRATION_PAGES),
    ("calibration_filter", 42, "calibration report FILTER", CALIBRATION_PAGES),
    ("calibration_unit", 43, "calibration report MEAN unit", CALIBRATION_PAGES),
    ("calibration_comment", 44, "calibration certification comment", CALIBRATION_PAGES),
    (
        "calibration_certifier",
        45,
        "calibration certifier's user name",
        CALIBRATION_PAGES,
        None,
        False,
        ":/",
    ),
    ("fits_filter", 50, "FITS header FILTER", ("reprocess",), None, True),
    ("fits_object", 51, "FITS header OBJECT", ("reprocess",), None, True),
    ("fits_instrume", 52, "FITS header INSTRUME", ("reprocess",), None, True),
    ("fits_trgid", 53, "FITS header TRGID", ("reprocess",), None, True),
    ("product_burst", 60, "product burst ID", ("products",), 24, True),
    ("photometry_obs_id", 61, "photometry CSV obs_id", ("products",), 24, True),
    ("photometry_image_id", 62, "photometry CSV image_id", ("products",), 50, True),
    ("product_user", 63, "product review's user name", ("products",), None, False, ":/"),
    ("product_comment", 64, "product review's comment", ("products",)),
    ("photometry_filter", 65, "photometry CSV filter", ("products",), 8, True),
    ("photometry_instrument", 66, "photometry CSV instrument", ("products",), 16, True),
    ("user_name", 70, "users file user name", ("login",), None, False, ":/"),
    ("quality_image_id", 54, "frame quality image_id", ("night",)),
    ("quality_instrument", 55, "frame quality instrument", ("night",)),
    ("quality_filter", 56, "frame quality filter", ("night",)),
)


#: Every URL parameter of every page (what each page syncs with ``pn.state.location``, and the
#: login page's ``error``): ``text`` values a page takes as they come, ``list`` a JSON list of
#: texts, ``alone`` values it parses or picks among known ones (tried one at a time, since
#: one refused value leaves every parameter of its page unapplied).
URL_PARAMETERS: dict[str, dict[str, str]] = {
    "telemetry": {
        "sensors": "list",
        "subsystem": "alone",
        "component": "alone",
        "group": "alone",
        "range": "alone",
        "search": "text",
        "problems": "alone",
    },
    "alerts": {"burst": "text", "ivorn": "text", "tests": "alone"},
    **{
        slug: {"instrument": "text", "filter": "text", "start": "alone", "end": "alone"}
        for slug in CALIBRATION_PAGES
    },
    "products": {"burst": "text", "product": "alone"},
    "reprocess": {"run": "text", "compare": "text", "folder": "alone"},
    "burst": {"id": "text"},
    "login": {"error": "text"},
}
SOURCES.update(
    (f"url_{slug}_{parameter}", Source(71 + index, f"URL parameter {parameter} of /{slug}"))
    for index, (slug, parameter) in enumerate(
        (slug, parameter) for slug, parameters in URL_PARAMETERS.items() for parameter in parameters
    )
)


def url_source(slug: str, parameter: str) -> Source:
    """The source of a page's URL parameter."""
    return SOURCES[f"url_{slug}_{parameter}"]


def marker_js(mark: int, *, compact: bool = False) -> str:
    """The script a payload runs: it sets ``window.__gic_xss`` and alerts its number."""
    return f"alert({mark})" if compact else f"window.__gic_xss={mark};alert({mark})"


def payload_text(source: Source, number: int) -> str | None:
    """Payload ``number`` (from 1) as ``source`` carries it, the marker shortened where the
    field is narrow; None when the source's path cannot take it at all."""
    mark = source.code * 100 + number
    template = PAYLOADS[number - 1].template
    for compact in (False, True):
        text = template.replace("$JS", marker_js(mark, compact=compact))
        if source.refusal(text) is None:
            return text
    return None


MARK = re.compile(r"\b(\d{4})\b")


def describe_mark(mark: int) -> str:
    """'payload 2 (img onerror, unquoted) through VOEvent Param Instrument' for 1102."""
    code, number = divmod(int(mark), 100)
    source = next((s.name for s in SOURCES.values() if s.code == code), f"source {code}")
    kind = PAYLOADS[number - 1].kind if 1 <= number <= len(PAYLOADS) else "unknown"
    return f"payload {number} ({kind}) through {source}"


@dataclass(frozen=True)
class Injected:
    """One hostile text that went in: its source, payload number, the text, and what its
    page must show (the text itself, or the message that quotes it)."""

    source: Source
    number: int
    text: str
    shown: str


@dataclass
class HostileWorkspace:
    """A demo workspace with hostile text injected: what went in, what a field could not
    hold (``refused``: too long, not ASCII...) and what a path turned away although the field
    could hold it (``failed``: a quarantined packet, a rejected file)."""

    root: Path
    injected: list[Injected] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    failed: list[tuple[str, int, str]] = field(default_factory=list)
    hostile_folder: Path | None = None
    product_bursts: list[str] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)

    def texts(self, key: str) -> list[str]:
        """The texts that went in through ``SOURCES[key]``."""
        return [i.text for i in self.injected if i.source is SOURCES[key]]

    def shown_on(self, page: str) -> list[Injected]:
        """What ``page`` must show as text."""
        return [i for i in self.injected if page in i.source.pages]

    def _texts(self, keys: tuple[str, ...], number: int) -> dict[str, str]:
        """Payload ``number`` for each source of ``keys``; a plain stand-in (the refusal noted)
        where a source cannot take it."""
        texts = {}
        for key in keys:
            text = payload_text(SOURCES[key], number)
            if text is None:
                self.refused.append((SOURCES[key].name, number, _why(SOURCES[key], number)))
            texts[key] = text or f"{key.replace('_', '-')}-{number}"
        return texts

    def _takes(self, keys: tuple[str, ...], number: int) -> bool:
        """True when a source of ``keys`` takes payload ``number``; else its refusals noted."""
        if any(payload_text(SOURCES[key], number) is not None for key in keys):
            return True
        self._texts(keys, number)
        return False

    def _went_in(self, texts: dict[str, str], number: int, shown: dict | None = None) -> None:
        """Note the texts that are payloads (not stand-ins) as injected."""
        for key, text in texts.items():
            if text == payload_text(SOURCES[key], number):
                shown_text = (shown or {}).get(key, text)
                self.injected.append(Injected(SOURCES[key], number, text, shown_text))

    def _failed(self, keys: tuple[str, ...], number: int, reason: str) -> None:
        self.failed += [(SOURCES[key].name, number, reason) for key in keys]


def _why(source: Source, number: int) -> str:
    mark = source.code * 100 + number
    text = PAYLOADS[number - 1].template.replace("$JS", marker_js(mark, compact=True))
    return source.refusal(text) or "refused"


NUMBERS = range(1, len(PAYLOADS) + 1)


# -- VOEvent packets, quarantine, NATS -------------------------------------------------------------
ALERT_KEYS = (
    "voevent_ivorn",
    "voevent_instrument",
    "voevent_graceid",
    "voevent_trigid",
    "voevent_author",
    "voevent_description",
    "voevent_param_name",
    "voevent_param_value",
    "voevent_param_unit",
)


def hostile_voevent(texts: dict[str, str], when: datetime, *, role: str = "observation") -> bytes:
    """A VOEvent 2.0 packet (no SVOM burst ID) carrying hostile text in its ivorn, Params,
    author and description; the last two as CDATA, so its raw XML shows them verbatim."""
    ivorn = "ivo://gic.hostile/alerts#" + texts["voevent_ivorn"]
    what = "\n".join(
        f"    <Param name={quoteattr(name)} value={quoteattr(value)}{unit}/>"
        for name, value, unit in (
            ("Instrument", texts["voevent_instrument"], ""),
            ("GraceID", texts["voevent_graceid"], ""),
            ("TrigID", texts["voevent_trigid"], ""),
            (
                texts["voevent_param_name"],
                texts["voevent_param_value"],
                f" unit={quoteattr(texts['voevent_param_unit'])}",
            ),
        )
    )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" role={quoteattr(role)}
  version="2.0" ivorn={quoteattr(ivorn)}>
  <Who>
    <Date>{when:%Y-%m-%dT%H:%M:%S}+00:00</Date>
    <Author><shortName><![CDATA[{texts["voevent_author"]}]]></shortName></Author>
  </Who>
  <What>
{what}
  </What>
  <WhereWhen><ObsDataLocation><ObservatoryLocation id="GEOLEO"/><ObservationLocation>
    <AstroCoordSystem id="UTC-ICRS-GEO"/>
    <AstroCoords coord_system_id="UTC-ICRS-GEO">
      <Time unit="s"><TimeInstant><ISOTime>{when:%Y-%m-%dT%H:%M:%S}</ISOTime></TimeInstant></Time>
      <Position2D unit="deg"><Name1>RA</Name1><Name2>Dec</Name2>
        <Value2><C1>{(37.0 * len(ivorn)) % 360:.4f}</C1><C2>12.5</C2></Value2>
        <Error2Radius>0.1</Error2Radius></Position2D>
    </AstroCoords>
  </ObservationLocation></ObsDataLocation></WhereWhen>
  <How><Description><![CDATA[{texts["voevent_description"]}]]></Description></How>
</voe:VOEvent>
"""
    return text.encode("utf-8")


def inject_alerts(hostile: HostileWorkspace, workspace: Workspace, now: datetime) -> None:
    """One packet per payload through the handler's path (``gic-alert-handler``), newest of
    all alerts; one more with the payload as its role, which the handler quarantines."""
    for number in NUMBERS:
        when = now + timedelta(seconds=number)
        texts = hostile._texts(ALERT_KEYS, number)
        try:
            receive_packet(workspace, hostile_voevent(texts, when), source="comet")
            hostile._went_in(texts, number)
        except QuarantinedPacketError as exc:
            hostile._failed(ALERT_KEYS, number, f"quarantined: {exc}")
        role = payload_text(SOURCES["quarantine_reason"], number)
        plain = {key: f"quarantined-{number}" for key in ALERT_KEYS}
        try:
            receive_packet(workspace, hostile_voevent(plain, when, role=role), source="comet")
            hostile._failed(("quarantine_reason",), number, "stored, not quarantined")
        except QuarantinedPacketError as exc:
            reason = str(exc.__cause__)
            hostile._went_in({"quarantine_reason": role}, number, {"quarantine_reason": reason})


NATS_SUBJECT = "svom.gic.operations"


def inject_operations(hostile: HostileWorkspace, workspace: Workspace) -> None:
    """Per payload a NATS message of plain text and one JSON object naming a kind and a
    burst, through the path of ``gic alerts watch``."""
    for number in NUMBERS:
        texts = hostile._texts(("nats_text", "nats_kind", "nats_burst"), number)
        receive_operations_message(workspace, NATS_SUBJECT, texts["nats_text"].encode())
        body = {"kind": texts["nats_kind"], "burst_id": texts["nats_burst"]}
        receive_operations_message(workspace, NATS_SUBJECT, json.dumps(body).encode())
        hostile._went_in(texts, number)


# -- status files ----------------------------------------------------------------------------------
STATUS_KEYS = (
    "status_name",
    "status_pretty_name",
    "status_subsystem",
    "status_component",
    "status_group",
    "status_unit",
    "status_string_value",
)


def _status_records(texts: dict[str, str], number: int, date: str) -> list[dict]:
    common = {
        "date": date,
        "subsystem": texts["status_subsystem"],
        "component": texts["status_component"],
        "group": texts["status_group"],
        "model": "hostile",
        "identifier": str(number),
        "firmware": "",
        "correction_model": "",
        "error_code": 0,
    }
    numeric = {
        **common,
        "name": texts["status_name"],
        "value": "1.5",
        "raw_value": "1.5",
        "pretty_name": texts["status_pretty_name"],
        "type": "float",
        "unit": texts["status_unit"],
    }
    string = {
        **common,
        "name": f"hostile-string-{number:02d}",
        "value": texts["status_string_value"],
        "raw_value": texts["status_string_value"],
        "pretty_name": f"hostile string {number}",
        "type": "string",
        "unit": "",
    }
    return [numeric, string]


def inject_status(hostile: HostileWorkspace, stores: Stores) -> None:
    """A status file in the drop folder, two records per payload (a numeric sensor whose
    names and unit are hostile, a string sensor whose value is), then the drop folder's sync."""
    folder = stores.workspace.status_drop_dir
    newest = max(p.name for p in folder.glob("status_*.json"))
    moment = datetime.strptime(newest, "status_%Y%m%dT%H%M%S.json") - timedelta(seconds=150)
    records, went_in = [], []
    for number in NUMBERS:
        texts = hostile._texts(STATUS_KEYS, number)
        records += _status_records(texts, number, moment.isoformat())
        went_in.append((texts, number))
    path = folder / f"status_{moment:%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    rejected = dict(sync_status(stores)["files"].rejected)
    for texts, number in went_in:
        if any(path.name in key for key in rejected):
            hostile._failed(STATUS_KEYS, number, "; ".join(rejected.values()))
        else:
            hostile._went_in(texts, number)


# -- calibration reports ---------------------------------------------------------------------------
CALIBRATION_KEYS = (
    "calibration_im_name",
    "calibration_instrume",
    "calibration_filter",
    "calibration_unit",
    "calibration_comment",
    "calibration_certifier",
)


def calibration_report(texts: dict[str, str], caltype: str, date: str) -> dict:
    """An invalid report in the notes' JSON whose names, filter and unit are hostile."""

    def quantity(name: str, value: float, unit: str) -> dict:
        return {"name": name, "value": value, "type": "float", "unit": unit, "errorcode": 0}

    unit = texts["calibration_unit"]
    report = {
        "IM_NAME": texts["calibration_im_name"],
        "TYPE": caltype,
        "DATE": date,
        "ORIGIN": "OAN/SPM",
        "TELESCOP": "COLIBRI",
        "INSTRUME": texts["calibration_instrume"],
        "FILTER": texts["calibration_filter"],
    }
    for key, value in (
        ("MEAN", 1000.0),
        ("MEDIAN", 1000.0),
        ("RMS", 3.0),
        ("MEANDIFF", 9.0),
        ("MEDIANDIF", 9.0),
        ("RMSDIFF", 0.5),
    ):
        report[key] = quantity(key, value, unit)
    report["MEANDIFF"]["errorcode"] = 1
    report["VALID"] = {"name": "VALID", "value": False, "type": "bool", "unit": "", "errorcode": 1}
    return report


def inject_calibration(hostile: HostileWorkspace, stores: Stores) -> None:
    """Per payload and type an invalid report (``gic ingest calibration``'s path), dated the
    newest night of its type, then certified bad by hand with a hostile comment and user."""
    store = stores.calibration
    folder = stores.workspace.path("incoming/hostile-calibration")
    for number in NUMBERS:
        texts = hostile._texts(CALIBRATION_KEYS, number)
        paths = []
        for caltype in CALIBRATION_PAGES:
            date = str(store.trend(caltype)["date"].max().isoformat())
            path = folder / f"hostile_{caltype}_{number:02d}.json"
            report = calibration_report(texts, caltype, date)
            path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
            paths.append(path)
        summary = store.ingest_reports(paths)
        if summary.rejected:
            hostile._failed(CALIBRATION_KEYS, number, "; ".join(r for _, r in summary.rejected))
            continue
        for caltype in CALIBRATION_PAGES:
            trend = store.trend(caltype)
            report_id = int(
                trend.loc[trend["im_name"] == texts["calibration_im_name"], "report_id"].iloc[0]
            )
            store.certify(
                report_id,
                False,
                comment=texts["calibration_comment"],
                user=texts["calibration_certifier"],
            )
        hostile._went_in(texts, number)


# -- FITS frames -----------------------------------------------------------------------------------
FITS_KEYS = ("fits_filter", "fits_object", "fits_instrume", "fits_trgid")
HOSTILE_FOLDER = "hostile-frames"


def inject_frames(hostile: HostileWorkspace, workspace: Workspace, start: datetime) -> None:
    """A folder of frames to reprocess, one per payload, whose FILTER, OBJECT, INSTRUME and
    TRGID headers are hostile (as a camera would write them)."""
    folder = workspace.path(f"raw/gp2/{HOSTILE_FOLDER}")
    rng = np.random.default_rng(11)
    for number in NUMBERS:
        if not hostile._takes(FITS_KEYS, number):
            continue
        texts = hostile._texts(FITS_KEYS, number)
        header = fits.Header()
        header["DATE-OBS"] = (start + timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%S")
        header["EXPTIME"] = 10.0
        for keyword, key in (
            ("FILTER", "fits_filter"),
            ("OBJECT", "fits_object"),
            ("INSTRUME", "fits_instrume"),
            ("TRGID", "fits_trgid"),
        ):
            header[keyword] = texts[key]
        data = rng.normal(100.0, 5.0, (32, 32)).astype(np.float32)
        fits.PrimaryHDU(data, header).writeto(folder / f"hostile_{number:02d}.fits")
        hostile._went_in(texts, number)
    hostile.hostile_folder = folder


QUALITY_KEYS = ("quality_image_id", "quality_instrument", "quality_filter")


def inject_quality(hostile: HostileWorkspace, stores: Stores, when: datetime) -> None:
    """A frame quality record per payload, its image_id, instrument and filter hostile (as a
    frame's name and header give them), all of the night of ``when`` (the newest)."""
    records = []
    for number in NUMBERS:
        texts = hostile._texts(QUALITY_KEYS, number)
        t_mid = Time(when + timedelta(seconds=number), scale="utc").isot
        figures = [24.0, 0.01, 30, 3.0, 2.1, 0.05, 900.0, 20.0, 20.5, 1.2]
        records.append(
            FrameQuality(
                texts["quality_image_id"],
                texts["quality_instrument"],
                texts["quality_filter"],
                t_mid,
                60.0,
                *figures,
                "gp2",
            )
        )
        hostile._went_in(texts, number)
    stores.quality.record(records)


# -- photometry and products -----------------------------------------------------------------------
PHOTOMETRY_KEYS = (
    "photometry_obs_id",
    "photometry_image_id",
    "photometry_filter",
    "photometry_instrument",
)


def _hostile_photometry(
    hostile: HostileWorkspace, burst: Burst, folder: Path
) -> tuple[Path, list[tuple[dict[str, str], int]]]:
    """The burst's photometry CSV, one payload per row in each text column that takes it;
    and the texts written, by payload."""
    photometry = synthetic_photometry(
        burst, alpha=1.1, n_images=len(PAYLOADS), seed=5, limit_30s=18.0
    )
    columns = {
        "photometry_obs_id": "obs_id",
        "photometry_image_id": "image_id",
        "photometry_filter": "filter",
        "photometry_instrument": "instrument",
    }
    changed, written = {}, []
    for key, column in columns.items():
        values = getattr(photometry, column).astype(object)
        for number in NUMBERS:
            if not hostile._takes((key,), number):
                continue
            text = payload_text(SOURCES[key], number)
            values[number - 1] = text
            written.append(({key: text}, number))
        changed[column] = np.asarray(values, dtype=str)
    path = folder / "hostile-photometry.csv"
    path.write_text(photometry_csv(replace(photometry, **changed)), encoding="utf-8")
    return path, written


def inject_products(hostile: HostileWorkspace, stores: Stores, t0: datetime) -> None:
    """Products built (``gic products build``'s path) from hostile photometry, products of
    bursts whose IDs are hostile, and reviews by users with hostile names and comments."""
    when = Time(t0.replace(tzinfo=None), scale="utc")
    main = Burst(f"sb{t0:%y%m%d}77", when, 201.5, -12.25, 0.05)
    csv, written = _hostile_photometry(hostile, main, stores.workspace.path("incoming"))
    built = stores.products.build(
        main, read_photometry_file(csv), user="hostile", comment=f"from {csv.name}"
    )
    for texts, number in written:
        hostile._went_in(texts, number)
    hostile.product_bursts.append(main.burst_id)
    for number in NUMBERS:
        if not hostile._takes(("product_burst",), number):
            continue
        burst_id = payload_text(SOURCES["product_burst"], number)
        burst = replace(main, burst_id=burst_id)
        photometry = synthetic_photometry(burst, n_images=4, seed=number)
        photometry = replace(photometry, obs_id=np.full(len(photometry), "hostile-obs"))
        try:
            stores.products.build(burst, photometry, user="hostile", comment="hostile burst ID")
        except ValueError as exc:  # the builder refuses what a product's columns cannot hold
            hostile._failed(("product_burst",), number, str(exc))
            continue
        hostile.product_bursts.append(burst_id)
        hostile._went_in({"product_burst": burst_id}, number)
    _hostile_reviews(
        hostile, stores, int(built.loc[built["n_deviations"] == 0, "product_id"].iloc[0])
    )


def _hostile_reviews(hostile: HostileWorkspace, stores: Stores, product_id: int) -> None:
    """Approve and reject one product in turn, each time as a hostile user with a hostile
    comment (what ``gic products approve|reject --user --comment`` records)."""
    approving = True
    for number in NUMBERS:
        texts = hostile._texts(("product_user", "product_comment"), number)
        review = stores.products.review
        act = review.approve if approving else review.reject
        approving = not approving
        act(product_id, user=texts["product_user"], comment=texts["product_comment"])
        hostile._went_in(texts, number)


# -- the whole workspace, and its users ------------------------------------------------------------
def build_hostile_workspace(root: Path) -> HostileWorkspace:
    """Inject every source's hostile text into the demo workspace at ``root``."""
    hostile = HostileWorkspace(Path(root))
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    workspace = Workspace.open(root)
    inject_alerts(hostile, workspace, now)
    inject_operations(hostile, workspace)
    stores = Stores(workspace)
    try:
        inject_status(hostile, stores)
        inject_calibration(hostile, stores)
        inject_frames(hostile, workspace, now - timedelta(hours=2))
        inject_products(hostile, stores, now - timedelta(hours=3))
        inject_quality(hostile, stores, now - timedelta(hours=1))
    finally:
        stores.close()
    return hostile


def add_hostile_users(hostile: HostileWorkspace, root: Path) -> None:
    """Turn the login on at ``root`` with one approver named by every payload its users file
    takes, one after another (a browser then logs in once for all of them); the name and
    password go into ``hostile.users``."""
    config = Path(root) / "gic.toml"
    config.write_text(config.read_text().replace('users_file = ""', 'users_file = "users.json"'))
    taken = [n for n in NUMBERS if hostile._takes(("user_name",), n)]
    name = " ".join(payload_text(SOURCES["user_name"], n) for n in taken)
    UsersFile(Path(root) / "users.json").set(name, "hostile-pw", ["approver"])
    hostile.users[name] = "hostile-pw"
    hostile.injected += [Injected(SOURCES["user_name"], n, name, name) for n in taken]
