"""COLIBRI's cameras and their filters: the one table the simulations, the demo and the
checks read.

The two DDRAGO cameras each carry the four visible filters g, r, i and z (so both take
flats in all four); in a burst's sequence DDRAGO1 observes g and r and DDRAGO2 i and z at
the same time. CAGIRE is the near-infrared camera, with J and H.
"""

from __future__ import annotations

#: The filters each camera carries.
CAMERAS: dict[str, tuple[str, ...]] = {
    "DDRAGO1": ("g", "r", "i", "z"),
    "DDRAGO2": ("g", "r", "i", "z"),
    "CAGIRE": ("J", "H"),
}

#: The filters each camera observes in a burst's sequence (a part of those it carries).
BURST_FILTERS: dict[str, tuple[str, ...]] = {
    "DDRAGO1": ("g", "r"),
    "DDRAGO2": ("i", "z"),
    "CAGIRE": ("J", "H"),
}

#: Filter → the camera that observes it in a burst's sequence.
BURST_CAMERA: dict[str, str] = {
    name: camera for camera, names in BURST_FILTERS.items() for name in names
}

#: Every filter of the instrument, bluest first.
FILTERS: tuple[str, ...] = tuple(BURST_CAMERA)


def burst_camera(filter_name: str) -> str:
    """The camera that observes a filter in a burst's sequence.

    Parameters
    ----------
    filter_name : str
        One of :data:`FILTERS`.

    Returns
    -------
    str
        The camera's name, as in the INSTRUME keyword of its frames.

    Raises
    ------
    ValueError
        If no COLIBRI camera observes this filter; the message names it and the filters.
    """
    try:
        return BURST_CAMERA[filter_name]
    except KeyError:
        msg = f"no COLIBRI camera observes filter {filter_name!r} (filters: {', '.join(FILTERS)})"
        raise ValueError(msg) from None
