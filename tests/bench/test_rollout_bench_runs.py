"""The rollout benchmark runs end to end at a small size, so it cannot rot between the runs someone times
(`make bench-rollout`): its own stack, the fakes in their own process, a rollout to SUCCEEDED, and the printed
ratios. What it measures is not asserted: speed is the benchmark's to print, not a test's to time."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_rollout_bench_rolls_a_small_fleet_and_prints_its_ratios():
    run = subprocess.run([sys.executable, "bench/rollout.py", "--bots", "4", "--concurrency", "2", "--latency-ms", "200",
                          "--baseline-bots", "2", "--runs", "1"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert re.search(r"^run 1: 4 bots in [\d.]+s \(ratio [\d.]+x\)", run.stdout, re.M), run.stdout
    ideal = re.search(r"^ideal \(ceil\(N/C\) x latency\): ([\d.]+)s", run.stdout, re.M)
    assert ideal and float(ideal.group(1)) == 0.4, run.stdout  # ceil(4 / 2) x 0.2 s, by hand
    assert re.search(r"^one at a time: [\d.]+s per bot", run.stdout, re.M), run.stdout
