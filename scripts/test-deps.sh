#!/bin/sh
# What the tests need beyond `pip install '.[test]'`: Debian's chromium, which the browser
# tests (tests/report/test_report_browser.py) drive headless at /usr/bin/chromium.
# Installs it with apt when it is missing; needs root (or sudo) on Debian/Ubuntu.
# Called by the README's test command and by .ci/run, so both install the same things.
set -eu
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "scripts/test-deps.sh: /usr/bin/chromium is missing and installing it needs root:" \
       "run 'apt-get install chromium' as root, then the tests again" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/test-deps.sh: /usr/bin/chromium is missing and there is no apt-get:" \
       "install Debian's 'chromium' package (or a chromium at /usr/bin/chromium)" >&2
  exit 1
fi
echo "scripts/test-deps.sh: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
test -x /usr/bin/chromium
