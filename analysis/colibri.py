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


#: One colour per filter, the same on every page and notebook: the colour-blind-safe palette
#: of Okabe & Ito (2008), r and i far apart (vermillion, reddish purple); yellow, too pale on
#: white, is left out. Other filters take :data:`OTHER_FILTER_COLORS` in turn.
FILTER_COLORS: dict[str, str] = {
    "g": "#009E73",  # bluish green
    "r": "#D55E00",  # vermillion
    "i": "#CC79A7",  # reddish purple
    "z": "#000000",  # black
    "J": "#E69F00",  # orange
    "H": "#0072B2",  # blue
}
OTHER_FILTER_COLORS: tuple[str, ...] = ("#56B4E9", "#999999")  # sky blue, grey


def filter_color(filter_name: str, index: int = 0) -> str:
    """The colour of a filter on every plot: :data:`FILTER_COLORS`, or for another filter
    the ``index``-th of :data:`OTHER_FILTER_COLORS` (cycled)."""
    return FILTER_COLORS.get(filter_name, OTHER_FILTER_COLORS[index % len(OTHER_FILTER_COLORS)])


#: Filter names of other instruments and catalogues → the products' code (FILTER is 8A).
#: ``w`` is the clear (white, unfiltered) band; names not here are kept as they are when
#: they fit (:func:`product_filter`).
FILTER_CODES: dict[str, str] = {
    "clear": "w",
    "unfiltered": "w",
    "white": "w",
    "uvot-white": "w",
    "uvwh": "w",
    "wh": "w",
    "open": "w",
    "none": "w",
    "c": "w",
    "cr": "w",
    "g'": "g",
    "r'": "r",
    "i'": "i",
    "z'": "z",
}


def product_filter(name: str, *, width: int = 8) -> str:
    """The FILTER a product gives a filter name: its code from :data:`FILTER_CODES`
    (case-insensitive), else the name itself when it fits ``width`` characters, else its
    first ``width`` characters.

    Parameters
    ----------
    name : str
        The filter as the photometry names it (``UVOT-white``, ``clear``, ``r``).
    width : int, optional
        The card's FILTER width, characters.

    Returns
    -------
    str

    Examples
    --------
    >>> product_filter("UVOT-white"), product_filter("r"), product_filter("F850LP")
    ('w', 'r', 'F850LP')
    """
    stripped = name.strip()
    code = FILTER_CODES.get(stripped.lower(), stripped)
    return code[:width]
