#!/usr/bin/env bash
# The web console's browser tests drive Debian's chromium (Playwright's own browser builds cannot be fetched
# here). Installs the package when it is missing; the tests find it at /usr/bin/chromium.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
  || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null; }
/usr/bin/chromium --version
