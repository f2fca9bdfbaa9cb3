#!/usr/bin/env bash
# Builds the Lambda dependency layer from requirements/runtime.txt for python3.11 on arm64 (the runtime
# and architecture of every function in the stack), byte-compiled, into a cache folder keyed by its
# inputs (outside the clone, so a fresh clone or a test reuses it), and links infra-cdk/build/deps-layer
# to it. Synthesis refuses to run without this layer: `make synth` and `make deploy` run this first.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PYTHON_VERSION=3.11
# Lambda's python3.11 runs on Amazon Linux 2 (glibc 2.26): manylinux2014 (glibc 2.17) wheels load there.
PLATFORM=manylinux2014_aarch64
CACHE_ROOT=${CLAWSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawster}
key=$(cat requirements/runtime.txt "$0" | sha256sum | cut -c1-16)
DEST=$CACHE_ROOT/deps-layer/python${PYTHON_VERSION/./}-arm64-$key  # no dot: CDK would take it for an extension
STAMP=clawster-deps-layer.json  # read by infra-cdk/clawster_infra/code_bundle.py before synthesis
LINK=infra-cdk/build/deps-layer

# .pyc files only load on the Python version that wrote them.
got=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$got" = "$PYTHON_VERSION" ] || { echo "error: the layer is byte-compiled for python$PYTHON_VERSION, but $PY is $got" >&2; exit 1; }

if [ ! -f "$DEST/$STAMP" ]; then
  echo "building the dependency layer into $DEST (pip, about a minute)"
  rm -rf "$DEST"
  mkdir -p "$(dirname "$DEST")"
  partial=$(mktemp -d "$DEST.partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  "$PY" -m pip install -q --disable-pip-version-check --no-compile -r requirements/runtime.txt --target "$partial/python" \
    --platform "$PLATFORM" --implementation cp --python-version "$PYTHON_VERSION" --only-binary=:all:
  rm -rf "$partial/python/bin"  # console scripts with this machine's shebang: no use in Lambda
  # CDK zips assets with 1980 timestamps, so timestamp-checked .pyc files would be stale in Lambda and
  # recompiled at every cold start: unchecked-hash .pyc files load without looking at the source.
  "$PY" -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$partial/python" -p /opt/python "$partial/python"
  printf '{"requirements_sha256": "%s", "python": "%s", "platform": "%s"}\n' \
    "$(sha256sum requirements/runtime.txt | cut -d' ' -f1)" "$PYTHON_VERSION" "$PLATFORM" > "$partial/$STAMP"
  # Another build may have finished first: keep its folder (someone may be reading it) and drop ours.
  mv -T "$partial" "$DEST" 2>/dev/null || true
fi

mkdir -p "$(dirname "$LINK")"
[ -L "$LINK" ] || rm -rf "$LINK"  # an old real folder (before the cache) would swallow the link
ln -sfn "$DEST" "$LINK.$$" && mv -T "$LINK.$$" "$LINK"  # a rename: a synthesis running meanwhile never sees no link
echo "deps layer: $(du -sh "$DEST/python" | cut -f1) for python$PYTHON_VERSION/$PLATFORM at $LINK"
