"""POST bots -> RUNNING through the whole path, vs the gateway's own start-to-ready, in the same run.

(a) baseline: a fresh gateway through the local provider directly: LocalProvider.create() then
    wait_ready() (/readyz 200 and our token accepted), on a root of its own, one gateway at a time.
(b) measured: POST /workspaces/{ws}/fleets/{fleet}/bots with "target": "local" on a local stack started
    in this process (the API, moto's Step Functions running the ASL, the task Lambda in its worker
    process, the stack's provider, the stream API), until a client subscribed to the fleet topic BEFORE
    the POST receives the bot.status RUNNING message. The bot is then deleted (not timed).

Runs alternate (a, b, a, b, ...) so machine drift hits both; one untimed warm-up of each comes first
(Lambda instances and node's file cache warm, as in production where INIT is under 1 % of invocations).
Only what production pays is timed: no stack start, no interpreter exit. Prints min and median of
each, the ratio median(b)/median(a) (aim <= 1.15), where (b)'s time goes (each step's end, from the
stream, for the median run, and when the gateway itself was ready, seen by an observer outside the path
that calls describe() every 100 ms), and the stream latency: for every message the client received, the
client's clock at receipt minus the envelope's `at` (stamped by the publisher right after the change
was committed, same machine, same clock), p50/p95 of status changes and of all messages (aim <= 250 ms).

Run: make bench-provision   (or .venv/bin/python bench/provision_to_running.py [--runs 5])
"""

from __future__ import annotations

import os

for _name, _value in {"TABLE_NAME": "clawster-bench", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
                      "AWS_SECRET_ACCESS_KEY": "local", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                      "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Clawster"}.items():
    os.environ.setdefault(_name, _value)

import argparse  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import quote  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]

from websockets.sync.client import connect  # noqa: E402

from layers.providers.base import GatewaySpec, GatewayState  # noqa: E402
from layers.providers.errors import GatewayNotFound  # noqa: E402
from layers.providers.local import LocalProvider  # noqa: E402

CEILING_S = 600


class Api:
    def __init__(self, url: str, token: str):
        self.url, self.token = url, token

    def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode() if body is not None else None,
                                         method=method, headers={"Authorization": f"Bearer {self.token}",
                                                                 "Content-Type": "application/json", **(headers or {})})
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else {}) | {"_etag": response.headers.get("ETag")}


class Listener:
    """A stream client on one topic; records each message with the client's clock at receipt."""

    def __init__(self, ws_url: str, token: str, topic: str):
        self.socket = connect(f"{ws_url}/?token={quote(token)}", open_timeout=60, legacy=True)
        self.socket.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert json.loads(self.socket.recv(timeout=60))["type"] == "subscribed"
        self.received: list[tuple[float, float, dict]] = []  # (perf_counter, wall clock, message)
        self.arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for raw in self.socket:
                at_perf, at_wall = time.perf_counter(), time.time()
                with self.arrived:
                    self.received.append((at_perf, at_wall, json.loads(raw)))
                    self.arrived.notify_all()
        except Exception:  # noqa: BLE001 - the socket closed: the bench is ending
            pass

    def wait_for(self, match, since: int) -> tuple[float, dict]:
        deadline = time.monotonic() + CEILING_S
        with self.arrived:
            while True:
                for at_perf, _, message in self.received[since:]:
                    if match(message):
                        return at_perf, message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"no matching message in {CEILING_S}s: {self.received[-3:]}")
                self.arrived.wait(left)


def gateway_alone(provider: LocalProvider, name: str) -> float:
    started = time.perf_counter()
    provider.create(GatewaySpec(name))
    provider.wait_ready(name, timeout_s=CEILING_S)
    elapsed = time.perf_counter() - started
    provider.delete(name)
    return elapsed


def ready_seen(observer: LocalProvider, bot_id: str, started: float, found: dict[str, float]) -> None:
    """Not part of the path: when the gateway itself became ready (describe() every 100 ms, from here)."""
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        try:
            if observer.describe(bot_id).state is GatewayState.RUNNING:
                found["gateway ready (observed)"] = time.perf_counter() - started
                return
        except GatewayNotFound:
            pass
        time.sleep(0.1)


def through_the_api(api: Api, listener: Listener, observer: LocalProvider, ws: str, fleet: str,
                    name: str) -> tuple[float, dict[str, float]]:
    """Seconds from the POST to the RUNNING message, and when each step ended (seconds after the POST)."""
    since = len(listener.received)
    started = time.perf_counter()
    status, bot = api.call("POST", f"/workspaces/{ws}/fleets/{fleet}/bots",
                           {"name": name, "template_id": "minimal", "target": "local"})
    assert status == 201, bot
    answered = time.perf_counter() - started
    observed: dict[str, float] = {}
    watcher = threading.Thread(target=ready_seen, args=(observer, bot["id"], started, observed), daemon=True)
    watcher.start()
    mine = lambda m: (m.get("data") or {}).get("bot_id") == bot["id"]  # noqa: E731
    done_at, message = listener.wait_for(lambda m: mine(m) and m["type"] == "bot.status"
                                         and m["data"]["status"] in ("RUNNING", "ERROR"), since)
    if message["data"]["status"] != "RUNNING":
        raise SystemExit(f"the bot ended in {message['data']['status']}: {message['data'].get('reason')}")
    watcher.join(timeout=5)
    steps = {"POST answered": answered}
    for at_perf, _, m in listener.received[since:]:
        if mine(m) and m["type"] == "bot.step" and m["data"]["status"] == "SUCCEEDED":
            steps[m["data"]["step"]] = at_perf - started
    steps |= observed
    steps["RUNNING on the stream"] = done_at - started
    steps = dict(sorted(steps.items(), key=lambda item: item[1]))
    # Not timed: remove the bot and its gateway.
    _, current = api.call("GET", f"/workspaces/{ws}/bots/{bot['id']}")
    api.call("DELETE", f"/workspaces/{ws}/bots/{bot['id']}", headers={"If-Match": current["_etag"]})
    listener.wait_for(lambda m: mine(m) and m["type"] == "bot.deleted", since)
    return done_at - started, steps


def latency_ms(listener: Listener, types: tuple[str, ...]) -> list[float]:
    found = []
    for _, at_wall, message in listener.received:
        if message.get("type") in types and message.get("at"):
            sent = datetime.fromisoformat(message["at"].replace("Z", "+00:00")).timestamp()
            found.append((at_wall - sent) * 1000)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (>= 3; each start is ~10 s)")
    args = parser.parse_args()
    from clawster.local.stack import LocalStack

    scratch = Path(tempfile.mkdtemp(prefix="clawster-bench-provision-"))
    try:
        with LocalStack(scratch / "stack", api_port=0, moto_port=0, seed=False, keep_gateways=False) as stack:
            assert stack.issuer
            token = stack.issuer.issue("bench")
            api = Api(stack.api_url, token)
            ws = api.call("POST", "/workspaces", {"name": "bench"})[1]["id"]
            fleet = api.call("POST", f"/workspaces/{ws}/fleets", {"name": "bench"})[1]["id"]
            listener = Listener(stack.ws_url, token, f"workspaces/{ws}/fleets/{fleet}")
            provider = LocalProvider(scratch / "alone", base_port=36000, supervise=False)
            provider.capabilities()  # the one-time runtime check, outside the timing
            observer = LocalProvider(scratch / "stack" / "gateways", supervise=False)  # reads the stack's gateways

            warm_a = gateway_alone(provider, "warm")
            warm_b, _ = through_the_api(api, listener, observer, ws, fleet, "warm")
            print(f"warm-up (not counted): gateway alone {warm_a:.2f}s, POST→RUNNING {warm_b:.2f}s", flush=True)
            with listener.arrived:
                listener.received.clear()
            alone, whole, breakdowns = [], [], []
            for run in range(args.runs):
                alone.append(gateway_alone(provider, f"a{run}"))
                seconds, steps = through_the_api(api, listener, observer, ws, fleet, f"b{run}")
                whole.append(seconds)
                breakdowns.append(steps)
                print(f"run {run + 1}: gateway alone {alone[-1]:.2f}s, POST→RUNNING {whole[-1]:.2f}s", flush=True)
            listener.socket.close()

        a, b = statistics.median(alone), statistics.median(whole)
        print(f"gateway alone (create + wait_ready): min {min(alone):.2f}s, median {a:.2f}s")
        print(f"POST bots → RUNNING on the stream:   min {min(whole):.2f}s, median {b:.2f}s")
        print(f"ratio median(b)/median(a): {b / a:.3f} (aim <= 1.15)")
        middle = breakdowns[whole.index(sorted(whole)[len(whole) // 2])]
        print("where the median run's time went (each step's end, seconds after the POST): "
              + ", ".join(f"{step} {at:.2f}" for step, at in middle.items()))
        gaps = [b["RUNNING on the stream"] - b["gateway ready (observed)"] for b in breakdowns
                if "gateway ready (observed)" in b]
        if gaps:
            print(f"control plane after the gateway was ready (ready observed -> RUNNING on the stream): "
                  f"median {statistics.median(gaps):.2f}s, min {min(gaps):.2f}s")
        status, every = latency_ms(listener, ("bot.status",)), latency_ms(listener, ("bot.status", "bot.step",
                                                                                     "bot.deleted"))
        print(f"stream latency, status changes (n={len(status)}): p50 {percentile(status, 0.5):.0f} ms, "
              f"p95 {percentile(status, 0.95):.0f} ms (aim <= 250 ms)")
        print(f"stream latency, every message (n={len(every)}): p50 {percentile(every, 0.5):.0f} ms, "
              f"p95 {percentile(every, 0.95):.0f} ms")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
