#!/usr/bin/env bash
# Sets up everything the project needs, from the project's own files: a venv with the pinned
# Python packages and the project installed in editable mode. Re-running is cheap: it only
# reinstalls when a requirements file changed. pip's cache (outside the clone) makes a fresh
# clone fast; with no cache it still works, just slower.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.requirements.sha256
want=$(cat requirements/*.txt pyproject.toml | sha256sum | cut -d' ' -f1)

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements/dev.txt
  "$VENV/bin/python" -m pip install -q --no-deps -e .
  echo "$want" > "$STAMP"
fi

# node 24 + openclaw for the local provider and the real-gateway contract tests, and asl-validator for
# the state machines' tests (each cached by version).
scripts/install_openclaw.sh >/dev/null
scripts/install_asl_validator.sh >/dev/null

# The web console (its pinned npm packages, then the build) and Debian's chromium for its browser tests.
scripts/build_console.sh >/dev/null
scripts/install_chromium.sh >/dev/null
