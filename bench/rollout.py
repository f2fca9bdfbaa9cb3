"""A rollout of one config change to N loopback fake gateways, through the whole path, vs the ideal and vs
one at a time, in the same run (issue 11 point 7).

N FakeGateways (tests/fakes/fake_gateway.py, loopback, each answering every config write after a fixed
`--latency-ms`) are handed to the local stack as the gateways of N bots by the loopback provider
(layers/providers/loopback.py: target "loopback", an inventory of addresses). The stack runs in this process:
the API, moto's Step Functions running statemachines/rollout.asl.json and, per bot, apply.asl.json, the task
Lambdas in their worker processes. Timed: POST /rollouts (strategy ALL, `--concurrency` C, no bake, the
gateway health gate) until GET says SUCCEEDED. Printed: that wall time; the ideal, ceil(N / C) x the
per-apply latency; the ratio (aim: <= 1.5); and a one-at-a-time baseline (a rollout with C = 1) over
`--baseline-bots` of the same bots, per bot and extrapolated to N.

Run: .venv/bin/python bench/rollout.py [--bots 500] [--concurrency 25] [--latency-ms 100] [--baseline-bots 10]
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
    body = {"targets": {"bot_ids": bot_ids}, "change": {"kind": "config_patch", "patch": {"ui": {"seamColor": color}}},
            "max_concurrency": concurrency, "bake_s": 0}
    started = time.perf_counter()
    rollout = api.call("POST", f"/workspaces/{WS[0]}/rollouts", body)
    deadline = time.monotonic() + CEILING_S
    while True:
        state = api.call("GET", f"/workspaces/{WS[0]}/rollouts/{rollout['id']}")
        if state["status"] in ("SUCCEEDED", "ROLLED_BACK", "FAILED", "PAUSED"):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"rollout {rollout['id']} still {state['status']} after {CEILING_S} s")
        time.sleep(0.2)  # polling interval only
    elapsed = time.perf_counter() - started
    if state["status"] != "SUCCEEDED":
        raise SystemExit(f"rollout ended {state['status']}: {state['status_reason']}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--baseline-bots", type=int, default=10)
    args = parser.parse_args()
    from clawster.local.stack import LocalStack
    from layers.providers.registry import LOOPBACK_ENV
    from tests.fakes.fake_gateway import FakeGateway
    from tests.loopback import hand_over

    scratch = Path(tempfile.mkdtemp(prefix="clawster-bench-rollout-"))
    os.environ[LOOPBACK_ENV] = str(scratch / "inventory.json")  # before the stack: its Lambda workers inherit it
    fakes = []
    try:
        with LocalStack(scratch / "stack", api_port=0, moto_port=0, seed=False, keep_gateways=False) as stack:
            assert stack.issuer
            api = Api(stack.api_url, stack.issuer.issue("bench"))
            WS.append(api.call("POST", "/workspaces", {"name": "bench"})["id"])
            fleet = api.call("POST", f"/workspaces/{WS[0]}/fleets", {"name": "bench"})["id"]
            bot_ids = [api.call("POST", f"/workspaces/{WS[0]}/fleets/{fleet}/bots",
                                {"name": f"b{i}", "template_id": "minimal"})["id"] for i in range(args.bots)]
            fakes = [FakeGateway(f"tok-{i}", write_latency_s=args.latency_ms / 1000, write_limit=1000).start()
                     for i in range(args.bots)]
            hand_over(WS[0], bot_ids, fakes, scratch / "secrets")
            print(f"{args.bots} bots on loopback fakes ({args.latency_ms} ms per config write); "
                  f"concurrency {args.concurrency}", flush=True)

            warm = roll(api, bot_ids[:2], 2, "#000001")  # Lambda workers and moto warm (not counted)
            print(f"warm-up (not counted): 2 bots in {warm:.1f}s", flush=True)
            whole = roll(api, bot_ids, args.concurrency, "#0000aa")
            ideal = math.ceil(args.bots / args.concurrency) * args.latency_ms / 1000
            k = min(args.baseline_bots, args.bots)
            alone = roll(api, bot_ids[:k], 1, "#00aa00")
            per_bot = alone / k
            print(f"rollout of {args.bots} bots, C={args.concurrency}: {whole:.1f}s")
            print(f"ideal (ceil(N/C) x latency): {ideal:.2f}s   ratio {whole / ideal:.1f}x (aim <= 1.5x)")
            print(f"one at a time: {per_bot:.2f}s per bot over {k} bots -> {per_bot * args.bots:.0f}s for "
                  f"{args.bots} (extrapolated); speed-up {per_bot * args.bots / whole:.1f}x")
            print(f"per bot, through the whole path: {whole / args.bots * args.concurrency:.2f}s per bot-slot "
                  f"(the apply workflow's and the rollout's 1 s Wait polls are the floor)")
    finally:
        for fake in fakes:
            fake.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
