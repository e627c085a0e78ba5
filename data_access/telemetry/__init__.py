"""Telemetry: status documents into the cache, the queries on them, and their sources
(the drop folder, the CDB's PostgreSQL table, the CDB's HTTP endpoint)."""
