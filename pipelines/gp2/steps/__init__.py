"""The GP2 modules over one image's state: what one task of a run does.

Each step takes an :class:`ImageState` and returns a new one (the input is never
changed), reads the masters, reference and catalogue it needs (cached per worker
process), calls :mod:`analysis.gp2`, and writes its own outputs when the run asked for
that module by name (a module run only because a later one needs it writes nothing).
:func:`guarded` is the boundary: a step that fails marks its image failed, with the
file, the step and the reason, and the image's later steps pass it along untouched,
so that one bad image never stops the others (BANZAI's ``Stage.run``).

By stage: :mod:`.image` (the state, the context, the readers, the boundary),
:mod:`.detection` (reduction, cosmics, findstars), :mod:`.registration` (alignment,
stacking) and :mod:`.measurement` (photometry, subtraction). The runner finds a step by
its name in this package.
"""

from pipelines.gp2.steps.detection import REDUCED_KEY, cosmics, findstars, reduction
from pipelines.gp2.steps.image import ImageInputs, ImageState, StepContext, guarded, load, slim
from pipelines.gp2.steps.measurement import (
    INSTRUMENTAL,
    Reference,
    load_reference,
    no_catalogue,
    photometry,
    subtraction,
)
from pipelines.gp2.steps.registration import alignment, stacking

__all__ = [
    "INSTRUMENTAL",
    "REDUCED_KEY",
    "ImageInputs",
    "ImageState",
    "Reference",
    "StepContext",
    "alignment",
    "cosmics",
    "findstars",
    "guarded",
    "load",
    "load_reference",
    "no_catalogue",
    "photometry",
    "reduction",
    "slim",
    "stacking",
    "subtraction",
]
