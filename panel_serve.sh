#!/usr/bin/env bash
# Serve the workbench on http://localhost:5006: creates .venv and installs if missing,
# builds a demo workspace from generated data if none exists, then serves it.
# GIC_WORKSPACE chooses another workspace (default: ./demo-workspace).
set -euo pipefail
cd "$(dirname "$0")"
source tools/ensure-venv.sh
ensure_venv ""
workspace="${GIC_WORKSPACE:-demo-workspace}"
if [ ! -d "$workspace/lake" ] && [ ! -f "$workspace/cache.duckdb" ]; then
  echo "== building the demo workspace in $workspace (three minutes or so, once)"
  .venv/bin/gic --workspace "$workspace" demo build
fi
exec .venv/bin/gic --workspace "$workspace" serve
