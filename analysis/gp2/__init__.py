"""GP2 reprocessing: the GP1 pipeline's steps as small functions over arrays and headers.

One module per step of the design notes' pipeline (COATLI's redux, align, stack,
phot and summary, with L.A.Cosmic and source extraction as gmadet does them):

- :mod:`.reduction`: bias, dark, flat, gain and the saturation mask;
- :mod:`.cosmics`: cosmic-ray removal (L.A.Cosmic, astroscrappy);
- :mod:`.findstars`: background, source extraction (sep) and the PSF FWHM;
- :mod:`.alignment`: a frame resampled onto a reference grid (WCS, else astroalign);
- :mod:`.stacking`: aligned frames combined, exposure and time keywords right;
- :mod:`.photometry`: aperture photometry, zero point against a catalogue, limiting magnitude;
- :mod:`.subtraction`: PSF matching, the difference image and its candidates;
- :mod:`.summary`: the transient located across a burst, its light curve and its joint decay fit
  (:mod:`analysis.afterglow`);
- :mod:`.simulate`: a generated burst with a known answer (tests and the demo).

Arrays, headers and astropy tables in; new objects out; no file is read here.
"""

from analysis.gp2.alignment import (
    Alignment,
    align_image,
    transform_from_sources,
    transform_from_wcs,
)
from analysis.gp2.cosmics import CosmicRays, remove_cosmics
from analysis.gp2.findstars import Sources, estimate_fwhm, find_stars
from analysis.gp2.photometry import (
    ZeroPoint,
    aperture_photometry,
    catalogue_magnitudes,
    limiting_magnitude,
    match_catalogue,
    sky_positions,
    zero_point,
)
from analysis.gp2.reduction import Reduced, reduce_frame
from analysis.gp2.stacking import Stack, stack_frames
from analysis.gp2.subtraction import Difference, find_candidates, match_psf, subtract_reference
from analysis.gp2.summary import (
    PHOTOMETRY_COLUMNS,
    TransientMeasure,
    fit_decay,
    light_curve_table,
    locate_transient,
    measure_transient,
)

__all__ = [
    "PHOTOMETRY_COLUMNS",
    "Alignment",
    "CosmicRays",
    "Difference",
    "Reduced",
    "Sources",
    "Stack",
    "TransientMeasure",
    "ZeroPoint",
    "align_image",
    "aperture_photometry",
    "catalogue_magnitudes",
    "estimate_fwhm",
    "find_candidates",
    "find_stars",
    "fit_decay",
    "light_curve_table",
    "limiting_magnitude",
    "locate_transient",
    "match_catalogue",
    "match_psf",
    "measure_transient",
    "reduce_frame",
    "remove_cosmics",
    "sky_positions",
    "stack_frames",
    "subtract_reference",
    "transform_from_sources",
    "transform_from_wcs",
    "zero_point",
]
