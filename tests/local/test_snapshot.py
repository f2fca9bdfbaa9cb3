"""The local stack keeps its data across restarts: every acknowledged write is journaled before its
response, the journal is compacted into the snapshot, and neither SIGTERM nor SIGKILL of
`clawster dev` in the middle of a burst of writes loses a write that was answered."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path

import pytest

from clawster.local.journal import DurableTable
from tests.helpers import Client

CLAWSTER = str(Path(sys.executable).with_name("clawster"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(state_dir: Path) -> subprocess.Popen:
    api, moto = _free_port(), _free_port()
    env = {**os.environ, "TABLE_NAME": "clawster-dev-test"}
    for name in ("AWS_ENDPOINT_URL", "MOTO_PORT"):  # the child runs its own moto
        env.pop(name, None)
    process = subprocess.Popen([CLAWSTER, "dev", "--state-dir", str(state_dir), "--api-port", str(api),
                                "--moto-port", str(moto)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env)
    deadline = time.monotonic() + 180
    while _recorded_pid(state_dir) != process.pid:  # a killed stack leaves its stack.json behind
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the stack did not start in 180 s"
        time.sleep(0.1)
    return process


def _recorded_pid(state_dir: Path) -> int | None:
    try:
        return json.loads((state_dir / "stack.json").read_text())["pid"]
    except (OSError, ValueError):
        return None


def _stop(process: subprocess.Popen, signum: int) -> str:
    process.send_signal(signum)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def test_data_survives_sigterm_and_a_restart(tmp_path):
    state = tmp_path / "dev"
    first = _start(state)
    stack = json.loads((state / "stack.json").read_text())
    admin = Client(stack["api_url"], _token(state))
    workspace = stack["demo_workspace_id"]
    fleet = admin.post(f"/workspaces/{workspace}/fleets", {"name": "kept", "environment": "prod"}).ok(201).body
    output = _stop(first, signal.SIGTERM)
    assert "admin token" in output and "data saved" in output
    assert not (state / "stack.json").exists()

    second = _start(state)
    try:
        again = json.loads((state / "stack.json").read_text())
        assert again["demo_workspace_id"] == workspace  # restored, not seeded a second time
        admin = Client(again["api_url"], _token(state))
        names = [f["name"] for f in admin.get(f"/workspaces/{workspace}/fleets").ok(200).body["items"]]
        assert sorted(names) == ["demo-dev", "kept"]
        trail = admin.get(f"/workspaces/{workspace}/audit").ok(200).body["items"]
        assert any(e["action"] == "fleet.create" and e["target"].endswith(fleet["id"]) for e in trail)
    finally:
        _stop(second, signal.SIGINT)


def _token(state: Path) -> str:
    run = subprocess.run([CLAWSTER, "token", "--user", "admin", "--state-dir", str(state)], capture_output=True,
                         text=True, timeout=60, check=True)
    return run.stdout.strip()


class Burst:
    """Clients creating fleets as fast as the stack answers; each remembers the ids it was answered
    201 for. They stop at the first connection error (the stack went away)."""

    def __init__(self, api_url: str, token: str, workspace: str, clients: int = 6):
        self.client = Client(api_url, token)
        self.path = f"/workspaces/{workspace}/fleets"
        self.acknowledged: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(clients)]

    def start(self) -> Burst:
        for thread in self.threads:
            thread.start()
        return self

    def wait_for(self, count: int, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + 300
        while len(self.acknowledged) < count:
            assert process.poll() is None, "the stack died during the burst"
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} writes acknowledged in 300 s"
            time.sleep(0.05)

    def join(self) -> list[str]:
        for thread in self.threads:
            thread.join(60)
        return self.acknowledged

    def _run(self, n: int) -> None:
        for i in range(10_000):
            try:
                reply = self.client.post(self.path, {"name": f"burst-{n}-{i}", "environment": "dev"})
            except (OSError, urllib.error.URLError):
                return
            if reply.status == 201:
                with self.lock:
                    self.acknowledged.append(reply.body["id"])
            elif reply.status == 503:  # stopping: the stack refuses new work
                return
            else:
                raise AssertionError(f"unexpected {reply.status}: {reply.body}")


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_no_acknowledged_write_is_lost_when_the_stack_dies_mid_burst(tmp_path, signum):
    state = tmp_path / "dev"
    first = _start(state)
    stack = json.loads((state / "stack.json").read_text())
    workspace = stack["demo_workspace_id"]
    burst = Burst(stack["api_url"], _token(state), workspace).start()
    burst.wait_for(40, first)
    first.send_signal(signum)
    output, _ = first.communicate(timeout=120)
    acknowledged = burst.join()
    if signum == signal.SIGTERM:
        assert first.returncode == 0 and "data saved" in output, output
    assert len(acknowledged) >= 40

    second = _start(state)
    try:
        again = json.loads((state / "stack.json").read_text())
        admin = Client(again["api_url"], _token(state))
        stored = _all_fleet_ids(admin, workspace)
        missing = set(acknowledged) - stored
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged creates lost"
    finally:
        _stop(second, signal.SIGTERM)


def _all_fleet_ids(client: Client, workspace: str) -> set[str]:
    ids, cursor = set(), None
    while True:
        page = client.get(f"/workspaces/{workspace}/fleets", query={"limit": 100, "cursor": cursor}).ok(200).body
        ids |= {fleet["id"] for fleet in page["items"]}
        cursor = page.get("next_cursor")
        if not cursor:
            return ids


def _item(pk: str, value: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "x"}, "v": {"S": value}}


def _record(pk: str, value: str | None) -> str:
    return json.dumps({"key": {"pk": {"S": pk}, "sk": {"S": "x"}}, "item": _item(pk, value) if value else None}) + "\n"


def test_restore_replays_only_segments_after_the_snapshot_and_ignores_a_torn_last_record(tmp_path):
    """The files a crash can leave: a snapshot that contains segment 3, a segment 3 the compaction had not
    deleted yet, then segment 4 whose last record was being written when the process died."""
    header = {"$snapshot": 2, "journal_seq": 3}
    (tmp_path / "table.jsonl").write_text("\n".join(json.dumps(row) for row in
                                                    [header, _item("a", "snap"), _item("b", "snap")]) + "\n")
    (tmp_path / "journal-3.jsonl").write_text(_record("a", "old") + _record("c", "old"))  # already in the snapshot
    (tmp_path / "journal-4.jsonl").write_text(_record("b", "new") + _record("d", "new") + _record("b", None)
                                              + _record("e", "torn")[:25])
    loaded = DurableTable(tmp_path, "arn:aws:dynamodb:us-east-1:123456789012:table/t", ["pk", "sk"]).load()
    assert sorted((item["pk"]["S"], item["v"]["S"]) for item in loaded) == [("a", "snap"), ("d", "new")]


def test_a_corrupt_record_before_the_end_is_an_error_not_silent_loss(tmp_path):
    (tmp_path / "journal-1.jsonl").write_text(_record("a", "x") + "{not json\n" + _record("b", "y"))
    with pytest.raises(ValueError):
        DurableTable(tmp_path, "arn:aws:dynamodb:us-east-1:123456789012:table/t", ["pk", "sk"]).load()


def test_the_journal_is_compacted_in_the_background_and_restores_the_same_table(tmp_path):
    import boto3
    from moto.server import ThreadedMotoServer

    from clawster.local import moto_dynamodb, snapshot

    moto_dynamodb.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        client = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.get_host_and_port()[1]}",
                              region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        arn = client.create_table(
            TableName="compaction", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        )["TableDescription"]["TableArn"]
        durable = DurableTable(tmp_path, arn, ["pk", "sk"], compact_after=10)
        durable.load()
        durable.start()
        for n in range(55):
            client.put_item(TableName="compaction", Item=_item(f"k{n:02}", "v"))
        client.delete_item(TableName="compaction", Key={"pk": {"S": "k00"}, "sk": {"S": "x"}})
        deadline = time.monotonic() + 120
        while len(snapshot.read(tmp_path / "table.jsonl")[0]) < 50:  # the compactor caught up at least once
            assert time.monotonic() < deadline, "no background compaction in 120 s"
            time.sleep(0.05)
        journal = [p for p in tmp_path.iterdir() if p.name.startswith("journal-")]
        assert len(journal) <= 2, journal  # compacted segments are deleted
        loaded = DurableTable(tmp_path, arn, ["pk", "sk"]).load()  # what a crash right now would restore
        durable.stop()
        final = DurableTable(tmp_path, arn, ["pk", "sk"]).load()
    finally:
        server.stop()
    expected = sorted(f"k{n:02}" for n in range(1, 55))
    assert sorted(item["pk"]["S"] for item in loaded) == expected
    assert sorted(item["pk"]["S"] for item in final) == expected
