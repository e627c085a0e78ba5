"""The cuts a candidate master must pass, and how each is read.

A limit is absolute (in the difference's unit), relative (a fraction of the reference's
level, its MEAN: a dark of 0.03 ADU/s is judged by its own size, not by a window of
±2 ADU/s) or in units of the reference's noise (its RMS); :meth:`Limits.resolve` turns
it into the difference's unit once the reference is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: How a limit is read: in the difference's unit, × the reference's MEAN, × its RMS.
LIMIT_MODES: tuple[str, ...] = ("absolute", "relative", "noise")


@dataclass(frozen=True)
class Limits:
    """The cuts a candidate must pass, in the unit of the difference (ratio for flats).

    Attributes
    ----------
    meandiff : (float, float)
        Allowed range of MEANDIFF, inclusive.
    rmsdiff : (float, float)
        Allowed range of RMSDIFF, inclusive.
    meandiff_mode, rmsdiff_mode : {"absolute", "relative", "noise"}
        How each range is read (see :data:`LIMIT_MODES`): in the difference's unit, as a
        fraction of the reference's MEAN, or in units of the reference's RMS.
    """

    meandiff: tuple[float, float]
    rmsdiff: tuple[float, float]
    meandiff_mode: str = "absolute"
    rmsdiff_mode: str = "absolute"

    def __post_init__(self) -> None:
        for mode in (self.meandiff_mode, self.rmsdiff_mode):
            if mode not in LIMIT_MODES:
                raise ValueError(f"limit mode '{mode}' is not one of {', '.join(LIMIT_MODES)}")

    @property
    def absolute(self) -> bool:
        """Whether both ranges are in the difference's unit already."""
        return self.meandiff_mode == self.rmsdiff_mode == "absolute"

    def resolve(self, level: float, noise: float) -> Limits:
        """The ranges in the difference's unit, for a reference of MEAN ``level`` and RMS
        ``noise``; NaN bounds when the scale a mode needs is not a positive number."""
        scales = {"absolute": 1.0, "relative": abs(level), "noise": noise}

        def scaled(bounds: tuple[float, float], mode: str) -> tuple[float, float]:
            scale = scales[mode]
            if not (math.isfinite(scale) and scale > 0):
                return (math.nan, math.nan)
            return (bounds[0] * scale, bounds[1] * scale)

        return Limits(
            meandiff=scaled(self.meandiff, self.meandiff_mode),
            rmsdiff=scaled(self.rmsdiff, self.rmsdiff_mode),
        )

    def describe(self) -> dict[str, list]:
        """``{"meandiff": [low, high, mode], "rmsdiff": [...]}``, for reports and pages."""
        return {
            "meandiff": [*self.meandiff, self.meandiff_mode],
            "rmsdiff": [*self.rmsdiff, self.rmsdiff_mode],
        }


#: Defaults. Bias: the notes' Mean in [-2, 2] and RMS in [0, 3] ADU (an offset of the
#: level is absolute). Dark: a change of the mean dark current by more than 20 % of the
#: reference's (a window in ADU/s is blind to a dark of 0.03 ADU/s), and a difference
#: whose scatter exceeds 3 × the reference's RMS (two masters of equal noise give √2).
#: Flats (ratio new/ref): a mean within 1 % of 1 (a change of the overall response or a
#: wrong normalisation) and a pixel-to-pixel scatter of at most 2 % (ten flats at 10⁴ e⁻
#: give ~0.4 %; new dust or a shifted vignetting exceeds 2 %).
DEFAULT_LIMITS: dict[str, Limits] = {
    "bias": Limits(meandiff=(-2.0, 2.0), rmsdiff=(0.0, 3.0)),
    "dark": Limits(
        meandiff=(-0.2, 0.2), rmsdiff=(0.0, 3.0), meandiff_mode="relative", rmsdiff_mode="noise"
    ),
    "flat": Limits(meandiff=(0.99, 1.01), rmsdiff=(0.0, 0.02)),
}
