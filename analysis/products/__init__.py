"""GFT products: descriptors, their TSV compiler, builders and the concordance check.

The modules, by noun: :mod:`~analysis.products.descriptor` (the model),
:mod:`~analysis.products.tsv` (the compiler), :mod:`~analysis.products.layout` (FITS
template and filled product), :mod:`~analysis.products.photometry` (the input table and
the burst), :mod:`analysis.afterglow` (the power-law fit behind QTI),
:mod:`~analysis.products.builders` (the seven products), :mod:`~analysis.products.validate`
(file against descriptor) and :mod:`~analysis.products.compare` (versions and sides).
"""

from analysis.products.builders import (
    PRODUCT_CARDS,
    BuildSettings,
    build_products,
    product_file_name,
)
from analysis.products.descriptor import DescriptorError, Keyword, ProductDescriptor
from analysis.products.layout import make_product, template_product
from analysis.products.photometry import Burst, Photometry, PhotometryError, parse_photometry_csv
from analysis.products.tsv import compile_import_tsv, compile_product_tsv
from analysis.products.validate import Deviation, ValidationReport, validate_product

__all__ = [
    "PRODUCT_CARDS",
    "BuildSettings",
    "Burst",
    "DescriptorError",
    "Deviation",
    "Keyword",
    "Photometry",
    "PhotometryError",
    "ProductDescriptor",
    "ValidationReport",
    "build_products",
    "compile_import_tsv",
    "compile_product_tsv",
    "make_product",
    "parse_photometry_csv",
    "product_file_name",
    "template_product",
    "validate_product",
]
