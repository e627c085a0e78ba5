"""The ``gic`` subcommands, one module per capability (see :mod:`app.cli`)."""

from app.commands import config, demo, serve, telemetry

COMMAND_MODULES = [config, telemetry, demo, serve]
