"""The ``gic`` subcommands, one module per capability (see :mod:`app.cli`)."""

from app.commands import (
    alerts,
    calibration,
    config,
    demo,
    gp2,
    night,
    notify,
    products,
    serve,
    status,
    telemetry,
    users,
    worker,
)

COMMAND_MODULES = [
    config,
    telemetry,
    status,
    alerts,
    calibration,
    products,
    gp2,
    demo,
    serve,
    users,
    notify,
    night,
    worker,
]
