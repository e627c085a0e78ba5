#!/usr/bin/env bash
# Run the benchmarks of bench/ with the project's .venv python.
#
#   ./bench/run.sh                    every benchmark (every bench/*.py not starting with '_')
#   ./bench/run.sh telemetry          the one named (several may be named)
#   ./bench/run.sh telemetry --quick  everything from the first option on goes to each benchmark
#
# Each benchmark prints its figures beside their baselines and the ratios. The exit code
# is 1 if any benchmark failed to run (a missed goal is a figure, not a failure).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="$root/.venv/bin/python"

available() {
    for file in "$here"/*.py; do
        name="$(basename "$file" .py)"
        [[ "$name" == _* ]] || echo "$name"
    done
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    echo "benchmarks: $(available | tr '\n' ' ')"
    exit 0
fi

# The benchmarks' baselines (ccdproc, photutils) are the bench extra.
(cd "$root" && source tools/ensure-venv.sh && ensure_venv "test,bench") || exit 2

names=()
options=()
while [[ $# -gt 0 && "$1" != -* ]]; do
    names+=("${1%.py}")
    shift
done
options=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    mapfile -t names < <(available)
fi

failed=()
for name in "${names[@]}"; do
    script="$here/$name.py"
    if [[ "$name" == _* || ! -f "$script" ]]; then
        echo "bench/run.sh: no benchmark '$name'; the benchmarks are: $(available | tr '\n' ' ')" >&2
        failed+=("$name")
        continue
    fi
    echo "### $name ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    if ! (cd "$root" && "$python" "$script" "${options[@]}"); then
        echo "bench/run.sh: benchmark '$name' failed" >&2
        failed+=("$name")
    fi
    echo
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "bench/run.sh: failed: ${failed[*]}" >&2
    exit 1
fi
