"""A rollout of one config change to N loopback fake gateways, through the whole path, vs the ideal and vs
one at a time, in the same run (issue 11 point 7).

N FakeGateways (tests/fakes/fake_gateway.py, loopback, each answering every config write after a fixed
`--latency-ms`; in a process of their own, tests/fakes/fleet_process.py: gateways are other machines) are handed
to the local stack as the gateways of N bots by the loopback provider (layers/providers/loopback.py: target
"loopback", an inventory of addresses; tests/fakes/loopback_fleet.py, shared with the rollout tests at scale).
The stack runs in this process: the API, moto's Step Functions running statemachines/rollout.asl.json (a child
rollout-wave execution per wave, each bot's apply inline in the rollout task), the task Lambdas in their worker processes.
Timed: POST /rollouts (strategy ALL, `--concurrency` C, no bake, the gateway health gate) until the rollout's
item says SUCCEEDED, `--runs` times (min and median printed).
Printed: that wall time; the ideal, ceil(N / C) x the per-apply latency; the ratio (aim: <= 1.5); and a
one-at-a-time baseline (a rollout with C = 1) over `--baseline-bots` of the same bots, per bot and extrapolated
to N.

Run: .venv/bin/python bench/rollout.py [--bots 500] [--concurrency 25] [--latency-ms 1000] [--baseline-bots 10]
[--runs 3]. The default latency, 1 s, lies between what a real gateway takes for a config write: openclaw 2026.9.6
answered a hot one in 0.36 s and a restart-class one was serving again after 5.7 s
(../shared/reference/openclaw-gateway.md).
"""

from __future__ import annotations

import os

for _name, _value in {"TABLE_NAME": "clawster-bench", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
                      "AWS_SECRET_ACCESS_KEY": "local", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                      "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Clawster"}.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
CEILING_S = 3600


class Api:
    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(self.url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            raise SystemExit(f"{method} {path}: {error.code} {error.read()[:500]!r}") from None


WS: list[str] = []


def roll(api: Api, bot_ids: list[str], concurrency: int, color: str) -> float:
    """POST the rollout, then wait for its item to say it ended: a consistent GetItem every 100 ms (the API's GET
    would read all N bot items each time, load a client's polling puts on the stack, not the rollout's cost)."""
    from clawster.store.entities import Rollout

    body = {"targets": {"bot_ids": bot_ids}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": color}}},
            "max_concurrency": concurrency, "bake_s": 0}
    started = time.perf_counter()
    rollout = api.call("POST", f"/workspaces/{WS[0]}/rollouts", body)
    deadline = time.monotonic() + CEILING_S
    while True:
        state = Rollout.get(*Rollout.key(WS[0], rollout["id"]), consistent_read=True)
        if state.status in ("SUCCEEDED", "ROLLED_BACK", "FAILED", "PAUSED"):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"rollout {rollout['id']} still {state.status} after {CEILING_S} s")
        time.sleep(0.1)  # polling interval only
    elapsed = time.perf_counter() - started
    if state.status != "SUCCEEDED":
        raise SystemExit(f"rollout ended {state.status}: {state.status_reason}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--latency-ms", type=int, default=1000)
    parser.add_argument("--baseline-bots", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from clawster.local.stack import LocalStack
    from layers.providers.registry import LOOPBACK_ENV
    from tests.fakes.fleet_process import FakesProcess
    from tests.fakes.loopback_fleet import LoopbackFleet

    scratch = Path(tempfile.mkdtemp(prefix="clawster-bench-rollout-"))
    os.environ[LOOPBACK_ENV] = str(scratch / "inventory.json")  # before the stack: its Lambda workers inherit it
    gateways = LoopbackFleet(scratch / "inventory.json", scratch / "secrets")
    # The gateways are other machines in production: their own process, not the stack's (and its GIL).
    fakes_process = FakesProcess(args.bots, write_latency_s=args.latency_ms / 1000, write_limit=1000)
    stack = LocalStack(scratch / "stack", api_port=0, moto_port=0, seed=False, keep_gateways=False)
    try:
        with fakes_process as fakes, stack:
            assert stack.issuer
            api = Api(stack.api_url, stack.issuer.issue("bench"))
            WS.append(api.call("POST", "/workspaces", {"name": "bench"})["id"])
            fleet = api.call("POST", f"/workspaces/{WS[0]}/fleets", {"name": "bench"})["id"]
            bot_ids = [api.call("POST", f"/workspaces/{WS[0]}/fleets/{fleet}/bots",
                                {"name": f"b{i}", "template_id": "minimal"})["id"] for i in range(args.bots)]
            gateways.hand_over(WS[0], bot_ids, fakes)
            print(f"{args.bots} bots on loopback fakes ({args.latency_ms} ms per config write); "
                  f"concurrency {args.concurrency}", flush=True)

            # Set-up, not counted: one instance of the rollout task per concurrent bot started, moto warm.
            warm = roll(api, bot_ids[:args.concurrency], args.concurrency, "#000001")
            print(f"warm-up (not counted): {args.concurrency} bots in {warm:.1f}s", flush=True)
            ideal = math.ceil(args.bots / args.concurrency) * args.latency_ms / 1000
            k = min(args.baseline_bots, args.bots)
            wholes, alones = [], []
            for run in range(args.runs):
                wholes.append(roll(api, bot_ids, args.concurrency, f"#0000{run + 16:02x}"))
                alones.append(roll(api, bot_ids[:k], 1, f"#00{run + 16:02x}00") / k)
                print(f"run {run + 1}: {args.bots} bots in {wholes[-1]:.1f}s (ratio {wholes[-1] / ideal:.2f}x); "
                      f"one at a time {alones[-1]:.2f}s per bot", flush=True)
            best, median = min(wholes), statistics.median(wholes)
            per_bot = statistics.median(alones)
            print(f"rollout of {args.bots} bots, C={args.concurrency}, {args.runs} runs: min {best:.1f}s, "
                  f"median {median:.1f}s")
            print(f"ideal (ceil(N/C) x latency): {ideal:.2f}s   ratio min {best / ideal:.2f}x, median "
                  f"{median / ideal:.2f}x (aim <= 1.5x)")
            print(f"one at a time: {per_bot:.2f}s per bot (median over {k} bots x {args.runs}) -> "
                  f"{per_bot * args.bots:.0f}s for {args.bots} (extrapolated); speed-up {per_bot * args.bots / median:.1f}x")
            print(f"overhead per bot beyond its gateway's latency, one at a time: "
                  f"{per_bot - args.latency_ms / 1000:.2f}s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
