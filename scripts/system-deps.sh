#!/usr/bin/env bash
# Installs the Debian packages that the tests run for real, only when missing, so a
# developer's second `make test` costs nothing here. CI runs as root on a fresh machine.
set -euo pipefail
need=()
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# The real Prometheus, posting its alerts to Tocsin (tests/integration/test_prometheus*.py).
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
# Headless Chromium for the dashboard's browser test (tests/integration/test_dashboard.py),
# driven by Playwright with executable_path: Playwright's own browser download needs network.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
# De-duplicate.
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
