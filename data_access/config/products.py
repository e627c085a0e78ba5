"""Settings of the GFT products (``[products]``), their defaults where the builders define
them, and of the SDB they are pushed to (``[sdb]``)."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.products.settings import BuildSettings
from data_access.config.setting import _setting

#: The products' defaults, where the builders define them.
_BUILD = BuildSettings()


@dataclass(frozen=True)
class ProductsConfig:
    products_dir: str = _setting(
        "products", "Folder (relative to the workspace) of GFT products, one sub-folder per burst"
    )
    descriptors_dir: str = _setting(
        "",
        "Folder of product descriptors (JSON) to use instead of the shipped ones; empty = shipped",
    )
    quick_window_s: float = _setting(_BUILD.quick_window_s, "Quick window after T0 (QF, QLC), s")
    fit_start_s: float = _setting(
        0.0, "Start of the decay fits' window (QTI, broken law), s after T0; 0 = from T0"
    )
    fit_stop_s: float = _setting(
        0.0, "End of the decay fits' window, s after T0; 0 = no end (with 0 start: whole curve)"
    )
    proc_ver: str = _setting(_BUILD.proc_ver, "PROC_VER written in every product")
    pip_ver: str = _setting(_BUILD.pip_ver, "PIP_VER written in every product")
    creator: str = _setting(_BUILD.creator, "CREATOR written in every product")
    origin: str = _setting(_BUILD.origin, "ORIGIN written in every product")
    fchart_url: str = _setting(
        "", "Finding chart link written as FCHART; {burst_id} is replaced; empty = none"
    )
    push_claim_s: float = _setting(
        600.0, "Seconds after which a push that never finished (process killed) may be retried"
    )
    refresh_s: float = _setting(
        3.0, "Seconds between two looks of an open Products page for products changed elsewhere"
    )


@dataclass(frozen=True)
class SdbConfig:
    import_url: str = _setting(
        "http://127.0.0.1:5080",
        "Base URL of the SDB import API (POST /import/v0/a_spjson, /import/v0/a_product); "
        "the default is `gic sandbox serve`",
    )
    export_url: str = _setting(
        "http://127.0.0.1:5080", "Base URL of the MDB/SDB export API (search and download by burst)"
    )
    token_env: str = _setting(
        "GIC_SDB_TOKEN", "Environment variable holding the SDB token (sent as a Bearer token)"
    )
    timeout_s: float = _setting(30.0, "Seconds before a request to the SDB is abandoned")
    retries: int = _setting(3, "Further attempts after a failed request (timeouts, 5xx, refused)")
    backoff_s: float = _setting(1.0, "First wait between attempts, doubled after each failure")
    sandbox_port: int = _setting(5080, "TCP port of `gic sandbox serve` (loopback)")
    sandbox_dir: str = _setting(
        "sandbox", "Folder (relative to the workspace) where the sandbox stores what it receives"
    )
