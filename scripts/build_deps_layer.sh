#!/usr/bin/env bash
# Builds the Lambda dependency layer (infra-cdk/build/deps-layer/python) from requirements/runtime.txt
# for python3.11 on arm64, the runtime and architecture every function in the stack uses.
# Run before `cdk deploy`; synthesis alone (tests, `make synth`) works without it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=infra-cdk/build/deps-layer/python
rm -rf "$out" && mkdir -p "$out"
.venv/bin/python -m pip install -q -r requirements/runtime.txt --target "$out" \
  --platform manylinux2014_aarch64 --implementation cp --python-version 3.11 --only-binary=:all:
echo "deps layer: $(du -sh "$out" | cut -f1) in $out"
