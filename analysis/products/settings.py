"""How the products say they were made: the settings a build reads, without the builders.

Kept apart from :mod:`analysis.products.builders` so that the configuration
(:mod:`data_access.config`) reads the defaults without importing astropy and scipy: the alert
handler reads the configuration before it writes a trigger file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from astropy.time import Time

QUICK_WINDOW_S = 300.0


@dataclass(frozen=True)
class BuildSettings:
    """What the products say about how they were made (the common primary keywords).

    Attributes
    ----------
    my_vers : int
        Reprocessing version (MY_VERS), also in the file name.
    proc_ver, pip_ver, prdm_ver : str
        Processing, pipeline and product data model versions.
    creator, origin, telescope, program : str
        CREATOR, ORIGIN, TELESCOP, PROGRAM.
    fchart : str
        Link to the finding chart (FCHART), '' when none.
    created : astropy.time.Time or None
        File creation time (DATE); now when None.
    quick_window_s : float
        Length of the quick window after T0 (QF, QLC), s.
    fit_window_s : tuple of float or None
        Start and end (s after T0, mid-exposure) of the window the decay fits use (QTI,
        :func:`afterglow_fits`); None fits the whole light curve (:func:`fit_window`).
    """

    my_vers: int = 1
    proc_ver: str = "1.0"
    pip_ver: str = "gp1"
    prdm_ver: str = "1.0"
    creator: str = "gic-workbench"
    origin: str = "COLIBRI/GIC"
    telescope: str = "COLIBRI"
    program: str = "GRB"
    fchart: str = ""
    created: Time | None = None
    quick_window_s: float = QUICK_WINDOW_S
    fit_window_s: tuple[float, float] | None = field(default=None)


def fit_window(start_s: float = 0.0, stop_s: float = 0.0) -> tuple[float, float] | None:
    """The fit window from its two settings: 0 for the start is T0, 0 for the end is no end.

    Parameters
    ----------
    start_s, stop_s : float
        Start and end of the window, s after T0.

    Returns
    -------
    tuple of float or None
        ``(start_s, stop_s)`` (``stop_s`` infinite for 0), None for the whole curve.

    Raises
    ------
    ValueError
        If a bound is negative or not finite, or the end is not after the start; the
        message gives both.
    """
    if not (math.isfinite(start_s) and math.isfinite(stop_s)) or start_s < 0 or stop_s < 0:
        raise ValueError(f"fit window {start_s} to {stop_s} s: bounds must be finite and >= 0")
    if stop_s == 0:
        return None if start_s == 0 else (float(start_s), math.inf)
    if stop_s <= start_s:
        raise ValueError(f"fit window {start_s} to {stop_s} s: the end is not after the start")
    return (float(start_s), float(stop_s))
