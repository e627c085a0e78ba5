"""The cache's schema, as an ordered list of migrations.

Migration N (1-based) brings a cache from schema N-1 to N. Append, never edit:
a cache in the field has already run the earlier ones.
"""

MIGRATIONS: list[str] = [
    # 1: telemetry (status files, sensors, readings) and the ingest bookkeeping
    """
    CREATE SEQUENCE sensor_id_seq START 1;
    CREATE SEQUENCE document_id_seq START 1;
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
]
