"""What each GP2 ``[Parameters]`` entry means, in words and with its unit.

The parameters themselves (names, types, defaults) are
:class:`data_access.gp2.config.Parameters`; this table says what they are for the people
who change them (the Reprocess page's labels and tooltips, ``gic`` help)::

    PARAMETER_HELP["cr_objlim"].label("cr_objlim")   # 'cr_objlim'
    PARAMETER_HELP["ps"].label("ps")                 # 'ps (deg/pixel)'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ParameterHelp:
    """One parameter in words.

    Attributes
    ----------
    description : str
        What it is and what it changes.
    unit : str
        Its unit as written in a label ('' for a count or a name).
    """

    description: str
    unit: str = ""

    def label(self, name: str) -> str:
        """``name (unit)``, or the name alone when there is no unit."""
        return f"{name} ({self.unit})" if self.unit else name


#: Every GP2 parameter: name → its description and unit.
PARAMETER_HELP: dict[str, ParameterHelp] = {
    "ps": ParameterHelp("Pixel scale, used when a frame has no WCS", "deg/pixel"),
    "gain": ParameterHelp("Detector gain: electrons per count", "e-/ADU"),
    "sat_level": ParameterHelp("Saturation of the raw frames; brighter pixels are masked", "ADU"),
    "detect_thresh": ParameterHelp("Source detection threshold above the background", "σ"),
    "readnoise": ParameterHelp("Read noise of the detector", "e-"),
    "minarea": ParameterHelp("Fewest connected pixels above threshold for a source", "pixels"),
    "cr_sigclip": ParameterHelp(
        "L.A.Cosmic detection limit: a pixel this far above the noise is a cosmic-ray candidate",
        "σ",
    ),
    "cr_objlim": ParameterHelp(
        "L.A.Cosmic contrast limit between a cosmic ray and the underlying object; raise it "
        "when stars' cores are taken for cosmic rays",
    ),
    "aperture": ParameterHelp(
        "Aperture radius of the photometry, in units of the PSF FWHM", "FWHM"
    ),
    "match_radius": ParameterHelp(
        "Largest distance between a source and its catalogue star or candidate match", "arcsec"
    ),
    "candidate_thresh": ParameterHelp(
        "Threshold of a candidate in the difference image, per pixel", "σ"
    ),
    "mask_radius": ParameterHelp(
        "Radius of the discs masking known sources in the difference image", "FWHM"
    ),
    "detect_snr": ParameterHelp(
        "Signal-to-noise of a forced measurement counted as a detection (else a limit)", "S/N"
    ),
    "limit_nsigma": ParameterHelp("Significance of the limiting magnitude", "σ"),
    "stack_method": ParameterHelp("How frames are combined: median, or sigma-clipped mean"),
    "stack_size": ParameterHelp("Consecutive frames of one filter combined per stack", "frames"),
    "target_ra": ParameterHelp(
        "Right ascension of the alert; candidates are searched around it", "deg"
    ),
    "target_dec": ParameterHelp(
        "Declination of the alert; candidates are searched around it", "deg"
    ),
    "search_radius": ParameterHelp("Radius of the candidate search around the alert", "arcsec"),
}
