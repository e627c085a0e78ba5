"""The CDB's sources of documents (its PostgreSQL table, its HTTP endpoint) and the sync
that ingests what each has that is new, for every kind of document the CDB sends: status
documents (:mod:`data_access.telemetry.sources`), calibration reports
(:mod:`data_access.calibration.sources`) and calibration links
(:mod:`data_access.calibration.links`)."""
