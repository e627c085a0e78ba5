# Sourced by ./panel_serve.sh, ./run_tests.sh and bench/run.sh: make sure .venv exists and
# holds the project installed (editable) with at least the extras asked for ("" or e.g.
# "test,bench"), reinstalling when pyproject.toml or constraints.txt changed since, at the
# versions of constraints.txt (tools/refresh-constraints writes it). Needs only Python 3.11+
# and the package index.
ensure_venv() {
  local wanted="$1" python="${PYTHON:-python3}" stamp=".venv/.gic-installed"
  local hash extra missing=""
  hash="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "GIC Workbench needs Python 3.11 or newer; $python is $("$python" --version 2>&1)" >&2
    return 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv with $("$python" --version 2>&1)"
    "$python" -m venv .venv
  fi
  local have_hash="" have=""
  [ -f "$stamp" ] && read -r have_hash have < "$stamp"
  [ "$have_hash" = "$hash" ] || { have=""; missing="yes"; }
  for extra in ${wanted//,/ }; do
    [[ ",$have," == *",$extra,"* ]] || missing="yes"
  done
  if [ ! -f "$stamp" ] || [ -n "$missing" ]; then
    local all
    all="$(echo "$have,$wanted" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd, -)"
    echo "== installing the workbench into .venv${all:+ with [$all]}"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -c constraints.txt -e ".${all:+[$all]}"
    echo "$hash $all" > "$stamp"
  fi
}
