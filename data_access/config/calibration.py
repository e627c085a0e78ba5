"""Settings of the calibration masters (``[calibration]``): the validation limits and the
nightly run."""

from __future__ import annotations

from dataclasses import dataclass, field

from data_access.config.setting import _setting


@dataclass(frozen=True)
class CalibrationLimitsConfig:
    bias_meandiff_min: float = _setting(-2.0, "Lowest MEANDIFF (ADU) of a valid master bias")
    bias_meandiff_max: float = _setting(2.0, "Highest MEANDIFF (ADU) of a valid master bias")
    bias_rmsdiff_min: float = _setting(0.0, "Lowest RMSDIFF (ADU) of a valid master bias")
    bias_rmsdiff_max: float = _setting(3.0, "Highest RMSDIFF (ADU) of a valid master bias")
    bias_meandiff_mode: str = _setting(
        "absolute",
        "How the bias MEANDIFF limits are read: absolute (ADU), relative (× the reference's "
        "MEAN) or noise (× the reference's RMS)",
    )
    bias_rmsdiff_mode: str = _setting(
        "absolute", "How the bias RMSDIFF limits are read: absolute, relative or noise"
    )
    dark_meandiff_min: float = _setting(
        -0.2, "Lowest MEANDIFF of a valid master dark (by default × the reference's MEAN)"
    )
    dark_meandiff_max: float = _setting(
        0.2, "Highest MEANDIFF of a valid master dark (by default: a 20 % change is flagged)"
    )
    dark_rmsdiff_min: float = _setting(
        0.0, "Lowest RMSDIFF of a valid master dark (by default × the reference's RMS)"
    )
    dark_rmsdiff_max: float = _setting(
        3.0, "Highest RMSDIFF of a valid master dark (by default × the reference's RMS)"
    )
    dark_meandiff_mode: str = _setting(
        "relative", "How the dark MEANDIFF limits are read: absolute, relative or noise"
    )
    dark_rmsdiff_mode: str = _setting(
        "noise", "How the dark RMSDIFF limits are read: absolute, relative or noise"
    )
    flat_meandiff_min: float = _setting(0.99, "Lowest mean of the ratio new/ref of a valid flat")
    flat_meandiff_max: float = _setting(1.01, "Highest mean of the ratio new/ref of a valid flat")
    flat_rmsdiff_min: float = _setting(0.0, "Lowest RMS of the ratio new/ref of a valid flat")
    flat_rmsdiff_max: float = _setting(0.02, "Highest RMS of the ratio new/ref of a valid flat")
    flat_meandiff_mode: str = _setting(
        "absolute", "How the flat MEANDIFF limits are read: absolute (a ratio), relative or noise"
    )
    flat_rmsdiff_mode: str = _setting(
        "absolute", "How the flat RMSDIFF limits are read: absolute, relative or noise"
    )
    overrides: tuple = _setting(
        (),
        "Limits for one instrument/filter: 'TYPE INSTRUMENT FILTER meandiff=LO:HI rmsdiff=LO:HI' "
        "(FILTER may be *; either limit may be left out; LO:HI:MODE sets its mode too)",
    )


@dataclass(frozen=True)
class CalibrationNightlyConfig:
    links_table: str = _setting(
        "calibration_links",
        "CDB table holding one calibration links document per row, same columns as the status "
        "table (read when cdb.postgres.dsn is set); empty = off",
    )
    links_url: str = _setting(
        "",
        "CDB endpoint answering GET ?since=YYYYMMDD with a calibration links document (the "
        "nights at or after since); empty = off",
    )
    links_drop_dir: str = _setting(
        "drop/calibration-links", "Folder (relative to the workspace) of links documents dropped"
    )
    delay_h: float = _setting(
        1.0, "Hours after the morning astronomical twilight at the site that the nightly run starts"
    )
    lookback_days: int = _setting(3, "Nights before today the background run still considers")
    download_timeout_s: float = _setting(
        60.0, "Seconds without data before a download is abandoned"
    )
    download_retries: int = _setting(3, "Further attempts after a failed download")
    download_backoff_s: float = _setting(1.0, "First wait between attempts, doubled after each")
    download_parallel: int = _setting(4, "Frames downloaded at once")
    publish_dir: str = _setting(
        "",
        "Local Storage folder (absolute, or relative to the workspace) where the masters in "
        "force are written for GP1; empty = off",
    )
    publish_pattern: str = _setting(
        "master_{caltype}_{instrument}_{filter}.fits",
        "File name of a published master: {caltype}, {instrument}, {filter}, {night} (YYYYMMDD)",
    )
    keep_raw_days: int = _setting(
        7,
        "Days raw calibration frames are kept after their night's masters were built and "
        "validated; 0 keeps them (masters and reports are never deleted)",
    )


@dataclass(frozen=True)
class CalibrationConfig:
    raw_dir: str = _setting(
        "raw/calibration", "Folder (relative to the workspace) of raw calibration frames"
    )
    night_folder: str = _setting(
        "{night}", "Sub-folder of raw_dir holding one night's frames; {night} is YYYYMMDD"
    )
    masters_dir: str = _setting(
        "masters",
        "Folder (relative to the workspace) of the masters: in force, old, history, rejected",
    )
    reports_dir: str = _setting(
        "reports/calibration", "Folder where gic calib run also writes each report as JSON"
    )
    type_key: str = _setting(
        "IMAGETYP", "Header keyword naming the frame type (bias, dark, flat...)"
    )
    instrument_key: str = _setting("INSTRUME", "Header keyword naming the instrument")
    filter_key: str = _setting("FILTER", "Header keyword naming the filter")
    exptime_key: str = _setting("EXPTIME", "Header keyword of the exposure time, s")
    date_key: str = _setting("DATE-OBS", "Header keyword of the start of the exposure (ISO 8601)")
    saturation_key: str = _setting(
        "SATURATE", "Header keyword of the saturation level, ADU (else saturation_level)"
    )
    saturation_level: float = _setting(65535.0, "Saturation level, ADU, when the header has none")
    temperature_key: str = _setting("CCD-TEMP", "Header keyword of the CCD temperature, °C")
    binning_keys: tuple = _setting(
        ("XBINNING", "YBINNING"), "Header keywords of the binning (x, y)"
    )
    temperature_tolerance: float = _setting(
        1.0,
        "A frame whose CCD temperature is farther than this from the series' median (°C) is "
        "left out",
    )
    reference_temperature_tolerance: float = _setting(
        2.0,
        "A master whose CCD temperature is farther than this (°C) from its reference's, or "
        "from the bias or dark it subtracted, is invalid (the report says why)",
    )
    max_saturated_fraction: float = _setting(
        0.01, "A frame with a larger fraction of saturated pixels is left out"
    )
    min_frames: int = _setting(3, "Fewest good frames a master is built from")
    max_bias_exptime: float = _setting(0.0, "Longest exposure time a bias may have, s")
    method: str = _setting("median", "Combine method: median, or mean (sigma-clipped)")
    sigma: float = _setting(3.0, "Clipping threshold of the mean, robust standard deviations")
    dark_per_second: bool = _setting(
        True, "Darks in counts per second; false keeps them at one exposure time (all equal)"
    )
    filter_free_types: tuple = _setting(
        ("bias", "dark"), "Types built per instrument whatever the filter (their FILTER is NONE)"
    )
    night_offset_h: float = _setting(
        -19.0, "Hours added to a UTC time to get its night's date (SPM: UTC-7, then -12 h)"
    )
    origin: str = _setting("OAN/SPM", "ORIGIN of the masters and reports when the frames have none")
    telescope: str = _setting(
        "COLIBRI", "TELESCOP of the masters and reports when the frames have none"
    )
    expected: tuple = _setting(
        (),
        "Series expected every night, as 'INSTRUMENT/FILTER/TYPE' (e.g. 'DDRAGO1/g/flat'); "
        "the completeness grid marks them missing when absent",
    )
    block_mib: int = _setting(64, "MiB of input rows held at once while combining")
    max_pixels: int = _setting(268435456, "Largest frame accepted, in pixels")
    residual_max_mean_noise: float = _setting(
        0.5, "Residual check: largest |mean residual|, in units of the frames' own noise"
    )
    residual_max_noise_ratio: float = _setting(
        1.3, "Residual check: largest residual noise over the frames' own noise"
    )
    limits: CalibrationLimitsConfig = field(default_factory=CalibrationLimitsConfig)
    nightly: CalibrationNightlyConfig = field(default_factory=CalibrationNightlyConfig)
