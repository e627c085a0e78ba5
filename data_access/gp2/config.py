"""The GP1 pipeline's INI files, read as the design notes show them.

Three levels (notes, "GP1 adaptation for Colibri"):

- a module's file: ``[Input and Output]`` (input, output), ``[Calibration]`` (dark, flat,
  bias; also reference and catalog here), ``[Parameters]`` (ps, gain, sat_level,
  detect_thresh and the others of :class:`Parameters`);
- a pipeline's folder (``pipeline --config config/svom``): a file with ``[Workspace]``
  (headers = TRGID,INSTRUME,FILTER), ``[Input and Output]``, ``[Structure of pipeline]``
  (a yes/no switch per module) and ``[Strategy processing]``, beside one optional file
  per module (``reduction.cfg``...) whose ``[Calibration]``/``[Parameters]`` apply to it;
- GP1's file: ``[General]`` (input, log_path) and one section per pipeline instance
  (processing_strategy, identifier_header, identifier_value, configuration_path_dir,
  workspace_dir).

Keys are case-insensitive and may hold spaces (``Image subtraction = no``), as Python's
configparser reads them. A value that does not parse names the file, section and key.
"""

from __future__ import annotations

import configparser
import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: The pipeline's modules, in the order they run.
STEPS = (
    "reduction",
    "cosmics",
    "findstars",
    "alignment",
    "stacking",
    "photometry",
    "subtraction",
    "summary",
)

#: [Structure of pipeline] spellings of the modules.
STRUCTURE_KEYS = {
    "reduction": "reduction",
    "cosmics": "cosmics",
    "cosmic rays": "cosmics",
    "findstars": "findstars",
    "alignment": "alignment",
    "stacking": "stacking",
    "photometry": "photometry",
    "image subtraction": "subtraction",
    "subtraction": "subtraction",
    "summary": "summary",
}

#: What each module needs done before it (done in memory when not switched on). Cosmic-ray
#: removal is never implied: it runs when switched on (or with reduction, by default).
PREREQUISITES = {
    "reduction": (),
    "cosmics": ("reduction",),
    "findstars": ("reduction",),
    "alignment": ("reduction", "findstars"),
    "stacking": ("reduction", "findstars", "alignment"),
    "photometry": ("reduction", "findstars"),
    "subtraction": ("reduction", "findstars", "alignment", "photometry"),
    "summary": ("reduction", "findstars", "alignment", "photometry", "subtraction"),
}


class Gp2ConfigError(ValueError):
    """An INI file that cannot be used; the message names the file, the section and the key."""


@dataclass(frozen=True)
class Parameters:
    """``[Parameters]`` of a module (every one optional; defaults for DDRAGO-like frames).

    Attributes
    ----------
    ps : float
        Pixel scale, degrees per pixel (used when a frame has no WCS).
    gain : float
        e-/ADU.
    sat_level : float
        Saturation of the raw frames, ADU.
    detect_thresh : float
        Source detection threshold, background σ.
    readnoise : float
        e-.
    minarea : int
        Fewest pixels of a source.
    cr_sigclip, cr_objlim : float
        L.A.Cosmic's detection limit and contrast limit.
    aperture : float
        Aperture radius, in units of the PSF FWHM.
    match_radius : float
        Catalogue and candidate matching radius, arcsec.
    candidate_thresh : float
        Candidate threshold in the difference image, σ per pixel.
    mask_radius : float
        Radius of the discs masking known sources in the difference, FWHM.
    detect_snr : float
        Signal-to-noise of a forced measurement counted as a detection.
    limit_nsigma : float
        Significance of the limiting magnitude.
    stack_method : str
        ``median`` or ``mean`` (sigma-clipped).
    stack_size : int
        Consecutive frames of one filter per stack.
    target_ra, target_dec : float or None
        The alert's position, degrees (candidates are searched around it).
    search_radius : float
        Radius of that search, arcsec.
    """

    ps: float = 0.000195
    gain: float = 1.0
    sat_level: float = 65535.0
    detect_thresh: float = 3.0
    readnoise: float = 5.0
    minarea: int = 5
    cr_sigclip: float = 4.5
    cr_objlim: float = 5.0
    aperture: float = 1.5
    match_radius: float = 2.0
    candidate_thresh: float = 5.0
    mask_radius: float = 1.5
    detect_snr: float = 3.0
    limit_nsigma: float = 5.0
    stack_method: str = "median"
    stack_size: int = 1
    target_ra: float | None = None
    target_dec: float | None = None
    search_radius: float = 30.0


_PARAMETER_TYPES = {f.name: f.type for f in dataclasses.fields(Parameters)}


@dataclass(frozen=True)
class ModuleSettings:
    """A module's INI file.

    ``bias``, ``dark``, ``flat``, ``reference`` and ``catalog`` are paths that may hold
    ``{FILTER}`` or ``{INSTRUME}`` (filled from each frame's header); empty = not given
    (the masters in force are then asked for).
    """

    input: tuple[str, ...] = ()
    output: str = ""
    bias: str = ""
    dark: str = ""
    flat: str = ""
    reference: str = ""
    catalog: str = ""
    parameters: Parameters = field(default_factory=Parameters)
    extra: tuple[tuple[str, str], ...] = ()
    source: str = "<defaults>"


@dataclass(frozen=True)
class PipelineSettings:
    """A pipeline's configuration folder: its structure and every module's settings."""

    headers: tuple[str, ...] = ("TRGID", "INSTRUME", "FILTER")
    input: tuple[str, ...] = ()
    output: str = ""
    steps: tuple[str, ...] = ("reduction",)
    mode: str = "standard"
    modules: dict = field(default_factory=dict)  # step -> ModuleSettings
    source: str = "<defaults>"

    def settings_for(self, step: str) -> ModuleSettings:
        """The settings a module runs with (its own file, else the pipeline's)."""
        return self.modules.get(step) or self.modules.get("pipeline") or ModuleSettings()


@dataclass(frozen=True)
class Gp1Instance:
    """One pipeline instance of GP1, fed the images whose headers match its identifiers."""

    name: str
    processing_strategy: str
    identifier_header: tuple[str, ...]
    identifier_value: tuple[str, ...]
    configuration_path_dir: str
    workspace_dir: str

    def matches(self, header) -> bool:
        """Whether each identifier keyword of ``header`` has its value (case, blanks ignored)."""
        for key, value in zip(self.identifier_header, self.identifier_value, strict=True):
            if str(header.get(key, "")).strip().lower() != value.strip().lower():
                return False
        return True


@dataclass(frozen=True)
class Gp1Settings:
    """GP1's file: the watched input folder, the log folder, the instances."""

    input: str
    log_path: str
    instances: tuple[Gp1Instance, ...]
    poll_s: float = 2.0
    source: str = "<defaults>"


def _parser(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(
        interpolation=None, inline_comment_prefixes=("#", ";"), strict=False
    )
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such configuration file") from None
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise Gp2ConfigError(f"{path}: not a valid INI file: {exc}") from None
    return parser


def _section(parser: configparser.ConfigParser, name: str) -> configparser.SectionProxy | None:
    for section in parser.sections():
        if section.strip().lower() == name.lower():
            return parser[section]
    return None


def _paths(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.replace("\n", ",").split(",") if v.strip())


def _convert(value: str, kind: str, where: str):
    text = value.strip()
    if "None" in kind and text.lower() in ("", "none"):
        return None
    try:
        if kind.startswith("float"):
            return float(text)
        if kind.startswith("int"):
            return int(text)
    except ValueError:
        raise Gp2ConfigError(f"{where} is {value!r}, expected a {kind.split(' ')[0]}") from None
    return text


def read_parameters(
    section: configparser.SectionProxy | None, path: Path, base: Parameters | None = None
) -> tuple[Parameters, tuple]:
    """``[Parameters]`` over ``base``; unknown keys are kept aside (and logged)."""
    base = base or Parameters()
    if section is None:
        return base, ()
    values, extra = {}, []
    for key, value in section.items():
        name = key.strip().lower()
        if name in _PARAMETER_TYPES:
            values[name] = _convert(
                value, str(_PARAMETER_TYPES[name]), f"{path}: [Parameters] {key}"
            )
        else:
            extra.append((name, value))
            log.info("%s: [Parameters] %s is not used by the gp2 modules; kept as given", path, key)
    return dataclasses.replace(base, **values), tuple(extra)


def read_module_config(path: Path | str, *, base: ModuleSettings | None = None) -> ModuleSettings:
    """A module's INI file (the notes' ``reduction.cfg``).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    Gp2ConfigError
        If it is not INI or a value does not parse.
    """
    path = Path(path)
    parser = _parser(path)
    base = base or ModuleSettings()
    io = _section(parser, "Input and Output")
    calibration = _section(parser, "Calibration")
    parameters, extra = read_parameters(_section(parser, "Parameters"), path, base.parameters)

    def get(section, key: str, default: str) -> str:
        return section.get(key, default).strip() if section is not None else default

    catalog = get(calibration, "catalog", "") or get(calibration, "catalogue", "") or base.catalog
    return ModuleSettings(
        input=_paths(io.get("input", "")) if io is not None and io.get("input") else base.input,
        output=get(io, "output", base.output),
        bias=get(calibration, "bias", base.bias),
        dark=get(calibration, "dark", base.dark),
        flat=get(calibration, "flat", base.flat),
        reference=get(calibration, "reference", base.reference),
        catalog=catalog,
        parameters=parameters,
        extra=base.extra + extra,
        source=str(path),
    )


def _structure(section: configparser.SectionProxy | None, path: Path) -> tuple[str, ...]:
    if section is None:
        raise Gp2ConfigError(f"{path}: no [Structure of pipeline] section (which modules to run)")
    chosen = set()
    for key, value in section.items():
        name = STRUCTURE_KEYS.get(" ".join(key.lower().split()))
        if name is None:
            raise Gp2ConfigError(
                f"{path}: [Structure of pipeline] {key}: unknown module; "
                f"known: {sorted(STRUCTURE_KEYS)}"
            )
        try:
            on = section.getboolean(key)
        except ValueError:
            raise Gp2ConfigError(
                f"{path}: [Structure of pipeline] {key} is {value!r}, expected yes or no"
            ) from None
        if on:
            chosen.add(name)
    if "reduction" in chosen and "cosmics" not in {STRUCTURE_KEYS.get(k.lower()) for k in section}:
        chosen.add("cosmics")  # COATLI's redux removes cosmic rays unless told otherwise
    return tuple(step for step in STEPS if step in chosen)


def _pipeline_file(folder: Path) -> Path:
    if folder.is_file():
        return folder
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such configuration folder or file")
    for candidate in sorted(folder.iterdir()):
        if candidate.is_file() and candidate.suffix.lower() in (".cfg", ".ini", ".conf"):
            if _section(_parser(candidate), "Structure of pipeline") is not None:
                return candidate
    raise Gp2ConfigError(
        f"{folder}: no file with a [Structure of pipeline] section (e.g. pipeline.cfg)"
    )


def read_pipeline_config(folder: Path | str) -> PipelineSettings:
    """A pipeline's configuration folder (or its main file).

    The file with ``[Structure of pipeline]`` gives the structure and the defaults of
    every module; ``<module>.cfg`` files beside it (``reduction.cfg``,
    ``image_subtraction.cfg`` or ``subtraction.cfg``...) override them for one module.

    Raises
    ------
    FileNotFoundError, Gp2ConfigError
    """
    folder = Path(folder)
    main = _pipeline_file(folder)
    parser = _parser(main)
    workspace = _section(parser, "Workspace")
    headers = _paths(workspace.get("headers", "")) if workspace is not None else ()
    strategy = _section(parser, "Strategy processing")
    defaults = read_module_config(main)
    modules = {"pipeline": defaults}
    directory = main.parent
    for step in STEPS:
        for name in (step, "image_subtraction" if step == "subtraction" else step):
            for suffix in (".cfg", ".ini", ".conf"):
                candidate = directory / f"{name}{suffix}"
                if candidate.is_file() and candidate != main:
                    modules[step] = read_module_config(candidate, base=defaults)
    return PipelineSettings(
        headers=headers or ("TRGID", "INSTRUME", "FILTER"),
        input=defaults.input,
        output=defaults.output,
        steps=_structure(_section(parser, "Structure of pipeline"), main),
        mode=strategy.get("mode", "standard").strip() if strategy is not None else "standard",
        modules=modules,
        source=str(main),
    )


def read_gp1_config(path: Path | str) -> Gp1Settings:
    """GP1's file (the notes' ``gp1.cfg``): every section but [General] is an instance.

    Raises
    ------
    FileNotFoundError, Gp2ConfigError
        If a key is missing, or identifier_header and identifier_value differ in length.
    """
    path = Path(path)
    parser = _parser(path)
    general = _section(parser, "General")
    if general is None or not general.get("input"):
        raise Gp2ConfigError(f"{path}: [General] input is missing (the folder GP1 watches)")
    instances = []
    for name in parser.sections():
        if name.strip().lower() == "general":
            continue
        section = parser[name]
        missing = [
            k
            for k in ("identifier_header", "identifier_value", "configuration_path_dir")
            if not section.get(k, "").strip()
        ]
        if missing:
            raise Gp2ConfigError(f"{path}: [{name}] {', '.join(missing)} missing")
        keys, values = _paths(section["identifier_header"]), _paths(section["identifier_value"])
        if len(keys) != len(values):
            raise Gp2ConfigError(
                f"{path}: [{name}] identifier_header has {len(keys)} keywords "
                f"but identifier_value {len(values)} values"
            )
        instances.append(
            Gp1Instance(
                name=name.strip(),
                processing_strategy=section.get("processing_strategy", "standard").strip(),
                identifier_header=keys,
                identifier_value=values,
                configuration_path_dir=section["configuration_path_dir"].strip(),
                workspace_dir=section.get("workspace_dir", "").strip(),
            )
        )
    if not instances:
        raise Gp2ConfigError(f"{path}: no pipeline instance (a section beside [General])")
    poll = _convert(general.get("poll_s", "2.0"), "float", f"{path}: [General] poll_s")
    return Gp1Settings(
        input=general["input"].strip(),
        log_path=general.get("log_path", "").strip(),
        instances=tuple(instances),
        poll_s=poll,
        source=str(path),
    )
