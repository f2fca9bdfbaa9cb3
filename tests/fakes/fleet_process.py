"""N FakeGateways served by a process of their own, for bench/rollout.py: the gateways a rollout drives are other
machines in production, so a benchmark does not let them share the control plane's process (and its GIL).

    with FakesProcess(count, write_latency_s=1.0, write_limit=1000) as fakes:
        fleet.hand_over(workspace_id, bot_ids, fakes)   # each fake has http_url, ws_url, token

The child (`python -m tests.fakes.fleet_process '{"count": N, ...}'`) prints one JSON line with the fakes'
addresses once they all listen, and serves until its stdin closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RemoteFake:
    http_url: str
    ws_url: str
    token: str


class FakesProcess:
    def __init__(self, count: int, **options: Any):
        self.count, self.options = count, options
        self._child: subprocess.Popen | None = None

    def __enter__(self) -> list[RemoteFake]:
        spec = json.dumps({"count": self.count, "options": self.options})
        self._child = subprocess.Popen([sys.executable, "-m", "tests.fakes.fleet_process", spec], cwd=ROOT,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self._child.stdout.readline()  # the child's first line: every fake listens
        if not line:
            raise RuntimeError(f"the fakes' process ended before it listened (exit {self._child.wait(10)})")
        return [RemoteFake(**fake) for fake in json.loads(line)]

    def __exit__(self, *exc: object) -> None:
        if self._child is not None:
            self._child.stdin.close()  # the child stops its fakes and exits
            self._child.wait(60)


def main(spec: dict[str, Any]) -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
    from tests.fakes.fake_gateway import FakeGateway

    fakes = [FakeGateway(f"tok-{i}", **spec["options"]).start() for i in range(spec["count"])]
    print(json.dumps([{"http_url": f.http_url, "ws_url": f.ws_url, "token": f.token} for f in fakes]), flush=True)
    sys.stdin.read()  # until the parent closes it (or dies)
    for fake in fakes:
        fake.stop()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
