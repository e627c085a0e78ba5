# Sourced by ./panel_serve.sh and ./run_tests.sh: make sure .venv exists and holds the
# project installed (editable) with the extras asked for, reinstalling when pyproject.toml
# changed since. Needs only Python 3.11+ and the package index.
ensure_venv() {
  local extras="$1" python="${PYTHON:-python3}" stamp=".venv/.gic-installed"
  local want
  want="$extras $(sha256sum pyproject.toml | cut -d' ' -f1)"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "GIC Workbench needs Python 3.11 or newer; $python is $("$python" --version 2>&1)" >&2
    return 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv with $("$python" --version 2>&1)"
    "$python" -m venv .venv
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== installing the workbench into .venv ($extras)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".$extras"
    echo "$want" > "$stamp"
  fi
}
