#!/usr/bin/env bash
# The whole test suite: creates .venv with the test extras if missing, installs Debian's
# chromium for the browser tests when it is missing and we are root, then runs pytest.
# Extra arguments go to pytest (e.g. ./run_tests.sh tests/analysis -x).
set -euo pipefail
cd "$(dirname "$0")"
source tools/ensure-venv.sh
ensure_venv "test"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian's chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null \
      || echo "== could not install chromium; the browser tests will say so" >&2
  else
    echo "== /usr/bin/chromium is missing and we are not root: the browser tests will say so" >&2
  fi
fi
# two test processes, one per core (GIC_TEST_PROCESSES=0 runs in this one); a file's tests
# stay in one process, so that its module fixtures (a browser, a server) start once
exec .venv/bin/python -m pytest -n "${GIC_TEST_PROCESSES:-2}" --dist loadfile "$@"
