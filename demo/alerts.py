"""Demo alerts: SVOM notices the project writes itself, in the structure of the real
packets (ECLAIRs wake-up notices, MXT updates with a better position, a retraction, a test
packet), stored through the real path; the public packets of ``../shared/data/voevents``
are added when that folder is present (the demo never depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

#: Where the public packets lie when the repository sits beside the shared data.
SHARED_VOEVENTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "voevents"

#: SVOM packet types (Packet_Type Param) the demo writes.
ECLAIRS_WAKEUP, MXT_UPDATE, RETRACTION = 202, 209, 219


@dataclass(frozen=True)
class DemoNotice:
    """What one generated SVOM notice says."""

    burst_id: str
    packet_type: int
    instrument: str
    t0: datetime
    date: datetime
    ra: float
    dec: float
    error_deg: float
    role: str = "observation"
    cites: str | None = None  # the ivorn a retraction retracts

    @property
    def ivorn(self) -> str:
        kind = {
            ECLAIRS_WAKEUP: "eclairs-wakeup",
            MXT_UPDATE: "mxt-update",
            RETRACTION: "retraction",
        }[self.packet_type]
        return f"ivo://org.svom/fsc#{self.burst_id}_{kind}_{self.date:%H%M%S}"


def svom_voevent(notice: DemoNotice) -> bytes:
    """A VOEvent 2.0 packet with the Who/What/WhereWhen/How structure of SVOM's notices."""
    citation = ""
    if notice.cites:
        citation = (
            f'  <Citations>\n    <EventIVORN cite="retraction">{escape(notice.cites)}'
            "</EventIVORN>\n    <Description>retraction</Description>\n  </Citations>\n"
        )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" role="{notice.role}" version="2.0"
  ivorn="{escape(notice.ivorn)}">
  <Who>
    <AuthorIVORN>ivo://org.svom/fsc</AuthorIVORN>
    <Date>{notice.date:%Y-%m-%dT%H:%M:%S}+00:00</Date>
    <Author><title>SVOM French Science Center (GIC Workbench demo)</title><shortName>FSC</shortName></Author>
  </Who>
  <What>
    <Param name="Packet_Type" value="{notice.packet_type}" ucd="meta.id"/>
    <Param name="Pkt_Ser_Num" value="1" ucd="meta.id"/>
    <Param name="Instrument" value="{notice.instrument}" ucd="instr"/>
    <Group name="Svom_Identifiers">
      <Param name="Burst_Id" value="{notice.burst_id}" ucd="meta.id"/>
    </Group>
  </What>
  <WhereWhen>
    <ObsDataLocation>
      <ObservatoryLocation id="GEOLEO"/>
      <ObservationLocation>
        <AstroCoordSystem id="UTC-ICRS-GEO"/>
        <AstroCoords coord_system_id="UTC-ICRS-GEO">
          <Time unit="s"><TimeInstant><ISOTime>{notice.t0:%Y-%m-%dT%H:%M:%S.%f}</ISOTime></TimeInstant></Time>
          <Position2D unit="deg">
            <Name1>RA</Name1><Name2>Dec</Name2>
            <Value2><C1>{notice.ra:.4f}</C1><C2>{notice.dec:.4f}</C2></Value2>
            <Error2Radius>{notice.error_deg:.4f}</Error2Radius>
          </Position2D>
        </AstroCoords>
      </ObservationLocation>
    </ObsDataLocation>
  </WhereWhen>
  <How><Description>GIC Workbench demo notice from {notice.instrument}</Description></How>
{citation}</voe:VOEvent>
"""
    return text.encode()


def demo_notices(end: datetime, days: float, *, seed: int = 7) -> list[DemoNotice]:
    """A burst every few days before ``end``: each an ECLAIRs notice, most followed by an MXT
    update with a better position; the second burst is retracted, the last is a test."""
    rng = np.random.default_rng(seed)
    count = max(3, int(days / 3))
    notices: list[DemoNotice] = []
    for index in range(count):
        t0 = end - timedelta(
            days=days * (count - index) / (count + 1), minutes=int(rng.integers(0, 600))
        )
        burst = f"sb{t0:%y%m%d}{index % 100:02d}"
        ra, dec = float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 0.9))))
        role = "test" if index == count - 1 else "observation"
        first = DemoNotice(
            burst,
            ECLAIRS_WAKEUP,
            "ECLAIRs",
            t0,
            t0 + timedelta(seconds=90),
            ra,
            dec,
            float(rng.uniform(0.08, 0.2)),
            role,
        )
        notices.append(first)
        if index % 3 != 2:
            offset = rng.normal(0, first.error_deg / 3, 2)
            notices.append(
                DemoNotice(
                    burst,
                    MXT_UPDATE,
                    "MXT",
                    t0,
                    t0 + timedelta(minutes=7),
                    ra + offset[0],
                    dec + offset[1],
                    0.02,
                    role,
                )
            )
        if index == 1:
            notices.append(
                DemoNotice(
                    burst,
                    RETRACTION,
                    "ECLAIRs",
                    t0,
                    t0 + timedelta(hours=1),
                    ra,
                    dec,
                    first.error_deg,
                    role,
                    cites=first.ivorn,
                )
            )
    return notices


def write_demo_packets(folder: Path, notices: list[DemoNotice]) -> list[Path]:
    """Write each notice's packet as ``<burst>_<n>.xml`` in ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, notice in enumerate(notices):
        path = folder / f"{notice.burst_id}_{number:02d}.xml"
        path.write_bytes(svom_voevent(notice))
        paths.append(path)
    return paths
