"""The cache's schema, as an ordered list of migrations.

Migration N (1-based) brings a cache from schema N-1 to N. Append, never edit:
a cache in the field has already run the earlier ones. (The first four once created
sequences too, when the cache was a DuckDB file; DuckLake has none, and identifiers are
the largest one plus one: :func:`~data_access.cache.next_id`. A DuckDB cache file of
schema N is imported into a lake of schema N or later, table by table.)
"""

#: Each sensor's latest reading (the one of greatest ``ts``, all its fields from that row)
#: recomputed from ``status_reading`` for the sensors matching ``{where}``: run by
#: migration 12, after a legacy import, and by the ingest for the sensors of a replaced
#: document (otherwise the ingest keeps these columns up to date batch by batch).
SENSOR_LAST_READINGS = """
    UPDATE sensor SET last_ts = l.ts, last_value = l.r.value, last_text = l.r.text,
                      last_error_code = l.r.error_code
    FROM (SELECT sensor_id, max(ts) AS ts,
                 arg_max({{'value': value, 'text': text, 'error_code': error_code}}, ts) AS r
          FROM status_reading WHERE {where} GROUP BY sensor_id) l
    WHERE sensor.sensor_id = l.sensor_id
"""

MIGRATIONS: list[str] = [
    # 1: telemetry (status files, sensors, readings) and the ingest bookkeeping
    """
    CREATE TABLE sensor (
        sensor_id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        pretty_name VARCHAR, subsystem VARCHAR, component VARCHAR, "group" VARCHAR,
        model VARCHAR, identifier VARCHAR, firmware VARCHAR, type VARCHAR, unit VARCHAR,
        correction_model VARCHAR
    );
    CREATE TABLE status_document (
        document_id INTEGER NOT NULL,
        source VARCHAR NOT NULL,          -- 'files', 'cdb-postgres', 'cdb-http'
        key VARCHAR NOT NULL,             -- path, or the CDB row's identity
        size BIGINT, mtime_ns BIGINT, sha256 VARCHAR NOT NULL,
        n_readings INTEGER NOT NULL,
        ingested_at TIMESTAMP NOT NULL
    );
    CREATE TABLE status_reading (
        sensor_id INTEGER NOT NULL,
        ts TIMESTAMP NOT NULL,            -- UTC
        value DOUBLE,                     -- integer and float sensors
        text VARCHAR,                     -- string sensors
        raw_value VARCHAR,                -- only where it differs from the value as received
        error_code INTEGER NOT NULL,
        document_id INTEGER NOT NULL
    );
    CREATE TABLE rejected_document (
        source VARCHAR NOT NULL, key VARCHAR NOT NULL, sha256 VARCHAR,
        reason VARCHAR NOT NULL, rejected_at TIMESTAMP NOT NULL
    );
    CREATE TABLE source_cursor (source VARCHAR NOT NULL, cursor VARCHAR NOT NULL);
    """,
    # alerts: VOEvent packets (every version, raw XML kept), their citations, and the NATS
    # operations feed (quarantined packets live in the quarantine folder, with their reason)
    """
    CREATE TABLE alert (
        ivorn VARCHAR NOT NULL,           -- one row per ivorn; a packet seen again counts a duplicate
        role VARCHAR NOT NULL,            -- observation, test, utility, prediction
        version VARCHAR, author VARCHAR,
        packet_date TIMESTAMP,            -- Who/Date, UTC
        packet_type INTEGER, mission VARCHAR, instrument VARCHAR,
        burst_id VARCHAR,                 -- SVOM sbYYMMDDNN; NULL when the packet has none
        event_id VARCHAR,                 -- burst ID, GraceID or GCN TrigID
        t0 TIMESTAMP, t0_mjd DOUBLE,      -- trigger time, UTC
        ra DOUBLE, dec DOUBLE, error_deg DOUBLE,
        retraction BOOLEAN NOT NULL,      -- this packet retracts others
        params VARCHAR NOT NULL,          -- JSON object: every Param of What ("Group.Param")
        units VARCHAR NOT NULL,           -- JSON object: the unit of each Param that has one
        description VARCHAR,
        raw_xml BLOB NOT NULL, sha256 VARCHAR NOT NULL,
        source VARCHAR NOT NULL,          -- comet, kafka, stdin, files
        received_at TIMESTAMP NOT NULL,   -- UTC
        duplicates INTEGER NOT NULL,
        last_duplicate_at TIMESTAMP
    );
    CREATE TABLE alert_citation (
        ivorn VARCHAR NOT NULL, cited_ivorn VARCHAR NOT NULL, cite VARCHAR NOT NULL
    );
    CREATE TABLE operations_message (
        message_id INTEGER NOT NULL,
        subject VARCHAR NOT NULL,
        received_at TIMESTAMP NOT NULL,   -- UTC
        kind VARCHAR,                     -- what the message announces (product, burst...), if it says
        burst_id VARCHAR,                 -- the burst it names, if any
        text VARCHAR,                     -- the message as received (UTF-8, or escaped bytes)
        payload VARCHAR,                  -- JSON object when the message is one
        error VARCHAR                     -- why the message could not be read; NULL when fine
    );
    """,
    # calibration: validation reports (built here or ingested), the masters on disk and their
    # status, manual certifications, and the series each night brought (completeness grid)
    """
    CREATE TABLE calibration_report (
        report_id INTEGER NOT NULL,
        source VARCHAR NOT NULL,          -- run (built here), files, cdb
        key VARCHAR NOT NULL,             -- report file, CDB key, or the master's file name
        sha256 VARCHAR NOT NULL,          -- of the report JSON as received or written
        im_name VARCHAR NOT NULL, caltype VARCHAR NOT NULL,
        date VARCHAR NOT NULL,            -- DATE as given (first frame)
        obs_time TIMESTAMP NOT NULL,      -- DATE as UTC
        night DATE NOT NULL,              -- the observing night of DATE
        origin VARCHAR, telescop VARCHAR,
        instrume VARCHAR NOT NULL, filter VARCHAR NOT NULL,
        mean DOUBLE, median DOUBLE, rms DOUBLE,
        meandiff DOUBLE, mediandif DOUBLE, rmsdiff DOUBLE,
        valid BOOLEAN NOT NULL,           -- the automatic verdict
        unit VARCHAR,
        extra VARCHAR,                    -- JSON: reasons, limits, histogram, residual check
        master_id INTEGER,                -- the master file, when built here
        reference_id INTEGER,             -- the master it was compared with
        report_json VARCHAR NOT NULL,     -- the notes' JSON
        ingested_at TIMESTAMP NOT NULL
    );
    CREATE TABLE calibration_master (
        master_id INTEGER NOT NULL,
        caltype VARCHAR NOT NULL, instrume VARCHAR NOT NULL, filter VARCHAR NOT NULL,
        night DATE NOT NULL,
        path VARCHAR NOT NULL,            -- relative to the masters folder; never rewritten
        n_frames INTEGER NOT NULL,
        status VARCHAR NOT NULL,          -- master, old, history, rejected, candidate
        created_at TIMESTAMP NOT NULL, promoted_at TIMESTAMP, retired_at TIMESTAMP
    );
    CREATE TABLE calibration_certification (
        report_id INTEGER NOT NULL,
        verdict BOOLEAN NOT NULL,         -- true: good; false: bad
        comment VARCHAR NOT NULL, user_name VARCHAR NOT NULL,
        certified_at TIMESTAMP NOT NULL   -- UTC; the latest one is in force
    );
    CREATE TABLE calibration_series (
        night DATE NOT NULL,
        instrume VARCHAR NOT NULL, filter VARCHAR NOT NULL, caltype VARCHAR NOT NULL,
        n_frames INTEGER NOT NULL, n_good INTEGER NOT NULL,
        problem VARCHAR,                  -- why no master was built, NULL when one was
        rejected VARCHAR,                 -- JSON list of [file, reason]
        report_id INTEGER,
        scanned_at TIMESTAMP NOT NULL
    );
    """,
    # products: every version of every GFT product of a burst (files under products/<burst>/),
    # its review state and push answer, and the audit log of who did what
    """
    CREATE TABLE product (
        product_id INTEGER NOT NULL,
        burst_id VARCHAR NOT NULL, card VARCHAR NOT NULL,
        version INTEGER NOT NULL,          -- MY_VERS
        file_name VARCHAR NOT NULL,        -- in products/<burst>/
        sha256 VARCHAR NOT NULL,           -- of the file
        fingerprint VARCHAR NOT NULL,      -- of the content, without DATE and MY_VERS
        source VARCHAR NOT NULL,           -- build, pull
        state VARCHAR NOT NULL,            -- new, approved, rejected, pushing, pushed, push failed
        n_deviations INTEGER NOT NULL,
        validation VARCHAR NOT NULL,       -- JSON: the validation report
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL,
        push_claim VARCHAR, push_claimed_at TIMESTAMP,
        pushed_at TIMESTAMP,
        push_answer VARCHAR                -- the server's answer (or the error) of the last push
    );
    CREATE TABLE product_action (
        product_id INTEGER NOT NULL,
        burst_id VARCHAR NOT NULL, card VARCHAR NOT NULL, version INTEGER NOT NULL,
        action VARCHAR NOT NULL,           -- build, approve, reject, push, push failed, pull
        user_name VARCHAR NOT NULL, comment VARCHAR NOT NULL,
        acted_at TIMESTAMP NOT NULL,       -- UTC
        detail VARCHAR                     -- JSON: the push answer, the error...
    );
    """,
    # where each master went: the masters every GP2 run used, the run each product version
    # was built from, the warnings of products built with a bad master cleared by hand, and
    # the reprocessing asked for with the masters in force (no key nor sequence: DuckLake)
    """
    CREATE TABLE gp2_run_master (
        run_id VARCHAR NOT NULL, burst_id VARCHAR,
        caltype VARCHAR NOT NULL,          -- bias, dark, flat
        instrume VARCHAR, filter VARCHAR,  -- of the frames it served
        file VARCHAR NOT NULL,             -- the file as the run read it
        master_id INTEGER,                 -- calibration_master of that file; NULL: unknown
        history_entry VARCHAR,             -- its path in the masters folder (history/...)
        n_images INTEGER NOT NULL,
        lake_snapshot BIGINT,              -- the cache's DuckLake snapshot; NULL before DuckLake
        recorded_at TIMESTAMP NOT NULL
    );
    CREATE TABLE product_run (
        product_id INTEGER NOT NULL, run_id VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL
    );
    CREATE TABLE product_warning_cleared (
        product_id INTEGER NOT NULL, master_id INTEGER NOT NULL,
        user_name VARCHAR NOT NULL, comment VARCHAR NOT NULL, cleared_at TIMESTAMP NOT NULL
    );
    CREATE TABLE reprocess_request (
        request_id INTEGER NOT NULL,
        run_id VARCHAR NOT NULL, burst_id VARCHAR, source VARCHAR,  -- the run to do again
        master_id INTEGER NOT NULL,        -- the master that made it needed
        user_name VARCHAR NOT NULL, requested_at TIMESTAMP NOT NULL,
        state VARCHAR NOT NULL             -- queued, done
    );
    """,
    # frame quality: the image quality of every science frame the workbench sees (GP1's figures
    # from the CDB, or what a GP2 run measured), with the telemetry at the exposure; one row per
    # (image_id, t_mid, source), the newest record of a frame replacing the earlier one
    """
    CREATE TABLE frame_quality (
        quality_id INTEGER NOT NULL,
        image_id VARCHAR NOT NULL,         -- the frame's file name without extension
        path VARCHAR NOT NULL,             -- the frame read ('' when not known)
        night DATE NOT NULL,               -- observing night of t_mid ([calibration] night_offset_h)
        instrument VARCHAR NOT NULL, filter VARCHAR NOT NULL,
        t_mid TIMESTAMP NOT NULL,          -- middle of the exposure, UTC
        exptime DOUBLE NOT NULL,           -- s
        zp DOUBLE, zp_err DOUBLE,          -- AB mag giving 1 e-/s in the aperture
        zp_stars INTEGER NOT NULL,
        fwhm_px DOUBLE, fwhm_arcsec DOUBLE, ellipticity DOUBLE,
        sky_adu DOUBLE,                    -- per pixel of the raw frame
        sky_mag_arcsec2 DOUBLE, limit_mag DOUBLE, airmass DOUBLE,
        telemetry VARCHAR NOT NULL,        -- JSON object: column -> reading at the exposure
        source VARCHAR NOT NULL,           -- gp1 (its outputs from the CDB), gp2, demo
        run_id VARCHAR NOT NULL,           -- the GP2 run that measured it ('' otherwise)
        recorded_at TIMESTAMP NOT NULL     -- UTC
    );
    """,
    # the CDB's calibration links (one row per frame of a links document) and each nightly
    # calibration run (no key nor sequence: DuckLake)
    """
    CREATE TABLE calibration_link (
        night DATE NOT NULL, name VARCHAR NOT NULL,  -- the frame's file name in the night
        location VARCHAR NOT NULL,         -- its URL or path on the CDB's storage
        instrume VARCHAR NOT NULL, filter VARCHAR, caltype VARCHAR NOT NULL,
        exptime DOUBLE NOT NULL, size_bytes BIGINT, checksum VARCHAR,  -- algorithm:hex
        source VARCHAR NOT NULL, document VARCHAR NOT NULL,  -- where the link came from
        received_at TIMESTAMP NOT NULL     -- UTC
    );
    CREATE TABLE calibration_nightly_run (
        run_id INTEGER NOT NULL, night DATE NOT NULL,
        started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP,  -- UTC
        links INTEGER NOT NULL, frames_fetched INTEGER NOT NULL, frames_failed INTEGER NOT NULL,
        masters_built INTEGER NOT NULL, masters_valid INTEGER NOT NULL,
        masters_promoted INTEGER NOT NULL, published INTEGER NOT NULL,
        raw_deleted INTEGER NOT NULL,
        outcome VARCHAR NOT NULL,          -- done, no frames, failures
        failures VARCHAR NOT NULL          -- JSON list of texts
    );
    """,
    # the DuckDB cache files of earlier versions imported into the lake (each once)
    """
    CREATE TABLE legacy_import (
        path VARCHAR NOT NULL,             -- the file, left where it was
        schema INTEGER NOT NULL,           -- its schema version
        n_rows BIGINT NOT NULL,
        imported_at TIMESTAMP NOT NULL     -- UTC
    );
    """,
    # what became of each reprocessing request (its state then 'done' or 'failed')
    """
    CREATE TABLE reprocess_outcome (
        request_id INTEGER NOT NULL,
        new_run_id VARCHAR,                -- the run made again (NULL when it failed)
        reason VARCHAR NOT NULL,           -- why it failed ('' when done)
        finished_at TIMESTAMP NOT NULL     -- UTC
    );
    """,
    # the lake snapshot each product version, action on it (an approval, a rejection...),
    # promotion and certification was made from (`gic --at`; kept by the maintenance)
    """
    ALTER TABLE product ADD COLUMN lake_snapshot BIGINT;
    ALTER TABLE product_action ADD COLUMN lake_snapshot BIGINT;
    ALTER TABLE calibration_master ADD COLUMN lake_snapshot BIGINT;  -- of its promotion
    ALTER TABLE calibration_certification ADD COLUMN lake_snapshot BIGINT;
    """,
    # which process took a reprocessing request ("pid@host"), so that a request left running
    # by a process that died is queued again
    """
    ALTER TABLE reprocess_request ADD COLUMN claimed_by VARCHAR;
    """,
    # each sensor's latest reading kept beside it, so that the Telemetry page's latest
    # values read 300 rows, not a year of readings
    """
    ALTER TABLE sensor ADD COLUMN last_ts TIMESTAMP;  -- UTC
    ALTER TABLE sensor ADD COLUMN last_value DOUBLE;
    ALTER TABLE sensor ADD COLUMN last_text VARCHAR;
    ALTER TABLE sensor ADD COLUMN last_error_code INTEGER;
    """
    + SENSOR_LAST_READINGS.format(where="true"),
]
