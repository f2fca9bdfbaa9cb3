"""Time from LocalProvider.create() to a ready gateway, vs the gateway's own start-to-/readyz time.

create() returns at once (STARTING); the measured time runs until wait_ready() sees the gateway RUNNING
(/readyz 200 and our token accepted), polling describe() as a workflow's describe loop does.

The baseline launches `openclaw gateway run` directly with the same config and environment the
provider writes (fresh state folder each time, as a create has), and polls /readyz every 20 ms.
The measured side is provider.create() with a fresh bot, which also writes the folder, token and
config, allocates a port, launches and polls describe() until RUNNING. Runs alternate (baseline, provider, ...) so
machine drift hits both; one gateway at a time. The ratio of the medians is printed. Aim: <= 1.15.
The provider is built once before timing: its runtime version check runs once per process, not per create.

Run: make bench-provider   (or .venv/bin/python bench/provider_ready.py [--runs 3])
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from layers.providers.base import GatewaySpec  # noqa: E402
from layers.providers.local import LocalProvider, OpenClawRuntime  # noqa: E402
from layers.providers.local import process as gateway_process  # noqa: E402
from layers.providers.local.instance import InstanceFiles, enforced_config  # noqa: E402


def baseline_start(runtime: OpenClawRuntime, root: Path, name: str, port: int) -> float:
    files = InstanceFiles(root, name)
    token = files.create()
    files.write_config(enforced_config(files, port, token))
    started = time.perf_counter()
    child = subprocess.Popen(
        runtime.command("gateway", "run"), cwd=files.dir, env={**runtime.env(), **files.env()},
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        while not gateway_process.ready(port, timeout_s=0.5):
            if child.poll() is not None:
                raise SystemExit(f"baseline gateway exited with {child.returncode}")
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        gateway_process.terminate(child.pid, None, 20, child)


def provider_start(provider: LocalProvider, name: str) -> float:
    started = time.perf_counter()
    provider.create(GatewaySpec(name))
    provider.wait_ready(name)
    elapsed = time.perf_counter() - started
    provider.delete(name)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="clawster-bench-provider-"))
    try:
        provider = LocalProvider(root / "provider", base_port=33000, supervise=False)
        provider.capabilities()  # the one-time runtime check, outside the timing
        baseline, measured = [], []
        for run in range(args.runs):
            baseline.append(baseline_start(provider.runtime, root / "baseline", f"b{run}", 34000))
            measured.append(provider_start(provider, f"p{run}"))
            print(f"run {run + 1}: gateway alone {baseline[-1]:.2f}s, provider create→RUNNING {measured[-1]:.2f}s",
                  flush=True)
        b, m = statistics.median(baseline), statistics.median(measured)
        print(f"median: gateway alone {b:.2f}s, provider create→RUNNING {m:.2f}s, ratio {m / b:.3f} (aim <= 1.15)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
