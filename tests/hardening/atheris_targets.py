"""Coverage-guided fuzzing of the parsers with atheris (libFuzzer), beside Hypothesis.

Hypothesis mutates inputs it is told how to build; libFuzzer watches which branches of the
workbench's own code an input reaches and keeps the inputs that reach new ones, so it finds
the paths nobody wrote a strategy for. Each target takes bytes from outside and must end in
a record or the parser's documented error; anything else (another exception) is a crash
that libFuzzer reports with the input that caused it.

Run by ``tests/hardening/test_atheris.py``, one process per target::

    python -m tests.hardening.atheris_targets voevent CORPUS_DIR -runs=3000

The seeds (the same good inputs the Hypothesis tests mutate) are written into CORPUS_DIR
first, and the inputs libFuzzer finds interesting are added to it.
"""

from __future__ import annotations

import itertools
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["analysis", "data_access"]):
    from analysis.operations import read_operations_message
    from analysis.products.descriptor import DescriptorError
    from analysis.products.photometry import PhotometryError
    from analysis.voevent import VOEventError, parse_voevent
    from data_access.fits_frames import FrameError, open_frame
    from data_access.products.files import compile_descriptor_file, read_photometry_file

from tests.hardening import (
    test_fuzz_fits,
    test_fuzz_operations,
    test_fuzz_products,
    test_fuzz_voevent,
)

#: Where the file targets write each input (beside the corpus; set by :func:`main`).
scratch = Path(".")
_names = itertools.count()


def _file(data: bytes, name: str) -> Path:
    path = scratch / f"{next(_names):07d}" / name
    path.parent.mkdir()
    path.write_bytes(data)
    return path


def voevent(data: bytes) -> None:
    try:
        parse_voevent(data)
    except VOEventError as exc:
        assert str(exc)


def operations(data: bytes) -> None:
    message = read_operations_message("gic.operations", data)
    assert message.error is None or message.error


def _through_file(
    data: bytes, name: str, read: Callable[[Path], object], error: type[Exception]
) -> None:
    """Write ``data`` into a file called ``name`` and ``read`` it: whatever it gives, or
    ``error`` naming the file."""
    path = _file(data, name)
    try:
        read(path)
    except error as exc:
        assert str(path) in str(exc), exc
    finally:
        shutil.rmtree(path.parent)


def _read_frame(path: Path) -> None:
    frame, _ = open_frame(path)
    with frame:
        frame.read_all()


def _compile(tsv: Path) -> None:
    shutil.copy(test_fuzz_products.SHIPPED / "gft_primary.tsv", tsv.parent)
    output = tsv.parent / "out"
    compiled = compile_descriptor_file(tsv, output)
    assert all(path.parent == output for path in compiled.outputs)


def photometry(data: bytes) -> None:
    _through_file(data, "phot.csv", read_photometry_file, PhotometryError)


def fits(data: bytes) -> None:
    _through_file(data, "frame.fits", _read_frame, FrameError)


def descriptor(data: bytes) -> None:
    _through_file(data, "DT_GFT_FGFT.tsv", _compile, DescriptorError)


#: Each target and the good input it starts from (the one its Hypothesis test mutates).
TARGETS = {
    voevent: test_fuzz_voevent.GOOD,
    operations: test_fuzz_operations.GOOD,
    photometry: test_fuzz_products.CSV,
    fits: test_fuzz_fits.GOOD,
    descriptor: test_fuzz_products.DT,
}
NAMES = {target.__name__: target for target in TARGETS}


def main() -> None:
    global scratch
    target, corpus = NAMES[sys.argv[1]], Path(sys.argv[2])
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "seed").write_bytes(TARGETS[target])
    scratch = corpus.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    atheris.Setup([sys.argv[0], str(corpus), *sys.argv[3:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
