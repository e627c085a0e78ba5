"""GFT products: descriptors, their TSV compiler, builders and the concordance check.

The modules, by noun: :mod:`~analysis.products.descriptor` (the model),
:mod:`~analysis.products.tsv` (the compiler), :mod:`~analysis.products.layout` (FITS
template and filled product), :mod:`~analysis.products.photometry` (the input table and
the burst), :mod:`analysis.afterglow` (the power-law fit behind QTI),
:mod:`~analysis.products.builders` (the seven products), :mod:`~analysis.products.validate`
(file against descriptor) and :mod:`~analysis.products.compare` (versions and sides);
:mod:`~analysis.products.settings` (how a build says it was made).

The names below are loaded on first use (PEP 562), so that reading the build settings
does not import the builders and astropy.
"""

import importlib

_HOMES = {
    "PRODUCT_CARDS": "builders",
    "build_products": "builders",
    "product_file_name": "builders",
    "BuildSettings": "settings",
    "DescriptorError": "descriptor",
    "Keyword": "descriptor",
    "ProductDescriptor": "descriptor",
    "make_product": "layout",
    "template_product": "layout",
    "Burst": "photometry",
    "Photometry": "photometry",
    "PhotometryError": "photometry",
    "parse_photometry_csv": "photometry",
    "compile_import_tsv": "tsv",
    "compile_product_tsv": "tsv",
    "Deviation": "validate",
    "ValidationReport": "validate",
    "validate_product": "validate",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    """Load a name of the package from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
