#!/usr/bin/env bash
# The README's test command. It installs what the tests need beyond cargo, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

# The report's browser test (reports/tests/browser.rs) loads the HTML in headless Chromium.
# Install Debian's chromium when it is missing and we can (root with apt-get, as in CI); if
# the install fails the test prints "skipped" and the run goes on.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
  && ! command -v google-chrome >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium for the report's browser test"
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1; then
      echo "warning: could not install chromium; the browser test will be skipped" >&2
    fi
  else
    echo "note: no chromium on PATH; the report's browser test will be skipped" >&2
  fi
fi

cargo test --workspace --locked
