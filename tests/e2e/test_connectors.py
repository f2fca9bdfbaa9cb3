"""Connectors through the API on the local stack (moto's Secrets Manager, the real rotate ASL in moto's
Step Functions): metadata only in every answer, 4xx naming the field on bad input with nothing written,
roles, the offline connection test, delete refused while a bot references it, a rotation with no bot to
update. And the leak test: a distinctive value created and rotated never appears in the table, an API
answer, the local stack's files beside the gateways, or a log line."""

from __future__ import annotations

import json
import logging
import time

import pytest

from clawster.local import durable_secrets, scan_guard

CEILING_S = 300
SENTINEL = "Zq7LeakCanary"  # in every value below: what the leak test looks for


def value(n: int) -> str:
    return "sk-" + "proj-" + SENTINEL + f"{n:04d}" + "x" * 24


class Recorder:
    """A client that keeps every answer's body, for the leak scan."""

    def __init__(self, client, seen: list[str]):
        self.client, self.seen = client, seen

    def __getattr__(self, name):
        call = getattr(self.client, name)

        def recorded(*args, **kwargs):
            reply = call(*args, **kwargs)
            self.seen.append(json.dumps(reply.body) + json.dumps(reply.headers))
            return reply

        return recorded


def wait_rotation(client, path: str) -> dict:
    deadline = time.monotonic() + CEILING_S
    while time.monotonic() < deadline:
        rotation = client.get(path).ok(200).body
        if rotation["status"] != "RUNNING":
            return rotation
        time.sleep(0.5)  # polling interval only: the ceiling bounds the wait
    pytest.fail(f"rotation {path} never ended")


def quiet_wire(caplog):
    """This test's own reads of a value: botocore's DEBUG wire log of them (in the test process) is not the
    stack's logging, and would be the only place the sentinel shows."""
    return caplog.at_level(logging.INFO, logger="botocore")


def stages(stack, secret: str) -> dict[str, list[str]]:
    return stack._client("secretsmanager").describe_secret(SecretId=secret)["VersionIdsToStages"]


def test_a_connector_is_metadata_only_checked_offline_rotated_and_never_leaks(stack, team, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    operator, viewer = Recorder(team.clients["OPERATOR"], seen), Recorder(team.clients["VIEWER"], seen)
    owner = Recorder(team.owner, seen)
    base = f"{team.ws}/connectors"

    # Bad input: 4xx naming the field, nothing written.
    refused = operator.post(base, {"name": "llm", "kind": "openai", "value": "pk-" + SENTINEL}).ok(422).body
    assert refused["details"]["errors"][0]["field"] == "value" and "OpenAI key" in refused["message"]
    assert operator.post(base, {"name": "llm", "kind": "gopher", "value": value(0)}).ok(422).body[
        "details"]["errors"][0]["field"] == "kind"
    assert operator.post(base, {"name": "llm", "kind": "openai"}).ok(422).body["details"]["errors"][0]["field"] \
        == "value"
    assert viewer.post(base, {"name": "llm", "kind": "openai", "value": value(0)}).ok(403)
    assert operator.get(base).ok(200).body["items"] == []
    tagged = stack._client("secretsmanager").list_secrets(
        Filters=[{"Key": "tag-value", "Values": [team.workspace_id]}])["SecretList"]
    assert tagged == []  # no secret was created for a refused request

    created = operator.post(base, {"name": "llm", "kind": "openai", "value": value(1)}).ok(201)
    connector = created.body
    secret = connector["secret_name"]
    assert secret == f"clawster/{team.workspace_id}/{connector['id']}"
    assert connector["reference"] == {"$secretRef": secret} and "value" not in connector
    with quiet_wire(caplog):
        assert stack._client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == value(1)
    path = f"{base}/{connector['id']}"
    assert viewer.get(path).ok(200).body["current_version_id"] == connector["current_version_id"]
    assert [c["id"] for c in viewer.get(base).ok(200).body["items"]] == [connector["id"]]

    # The offline test: the right shape, liveness untested; kept on the connector.
    assert viewer.post(f"{path}/test").ok(403)
    tested = operator.post(f"{path}/test").ok(200).body
    assert tested["result"] == "untested" and tested["checks"][-1] == {
        "name": "live", "status": "untested", "detail": "needs a call to api.openai.com, which is not made from here"}
    assert viewer.get(path).ok(200).body["last_test"]["result"] == "untested"

    renamed = operator.patch(path, {"name": "openai-main"}, etag=operator.get(path).ok(200).etag).ok(200).body
    assert renamed["name"] == "openai-main"

    # Referenced by a bot's desired config: delete refused, naming the bot.
    team.with_bot()
    config = {"models": {"providers": {"openai": {"apiKey": connector["reference"]}}}}
    bot = owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                     {"name": "uses-it", "template_id": "minimal", "config": config}).ok(201).body
    busy = team.clients["ADMIN"].delete(path, etag=operator.get(path).ok(200).etag).ok(409).body
    assert busy["details"]["bot_ids"] == [bot["id"]]

    # A rotation with no live bot to update: the new version current at once, the old one retired.
    assert operator.post(f"{path}/rotate", {"value": "not-a-key"}).ok(422).body["details"]["errors"][0]["field"] \
        == "value"
    assert operator.post(f"{path}/rotate", {"value": value(1)}).ok(422)  # the current value again
    old_version = connector["current_version_id"]
    started = operator.post(f"{path}/rotate", {"value": value(2), "batch_size": 2}).ok(202).body
    assert started["status"] == "RUNNING" and started["old_version_id"] == old_version
    assert operator.post(f"{path}/rotate", {"value": value(3)}).status in (409, 202)  # one at a time
    rotation = wait_rotation(viewer, f"{path}/rotations/{started['id']}")
    assert rotation["status"] == "SUCCEEDED", rotation
    assert rotation["skipped"] == {bot["id"]: "PENDING, no gateway: gets the value at its next deploy"}
    after = viewer.get(path).ok(200).body
    assert after["current_version_id"] == started["new_version_id"] and after["rotation_id"] is None
    versions = stages(stack, secret)
    assert versions[started["new_version_id"]] == ["AWSCURRENT"] and versions.get(old_version, []) == []
    from clawster.secrets import SecretResolver

    with quiet_wire(caplog):
        current = stack._client("secretsmanager").get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")
        assert current["SecretString"] == value(2)
        assert SecretResolver().resolve(secret) == value(2)  # what a bot's next deploy resolves

    # Deleted once no bot references it: the secret is scheduled for deletion with it.
    owner.delete(f"{team.ws}/bots/{bot['id']}", etag=owner.get(f"{team.ws}/bots/{bot['id']}").ok(200).etag).ok(204)
    team.clients["ADMIN"].delete(path, etag=operator.get(path).ok(200).etag).ok(204)
    assert operator.get(path).ok(404)
    assert "DeletedDate" in stack._client("secretsmanager").describe_secret(SecretId=secret)

    audit = owner.get(f"{team.ws}/audit", query={"limit": 100}).ok(200).body["items"]
    assert {e["action"] for e in audit} >= {"connector.create", "connector.test", "connector.update",
                                            "connector.rotate", "connector.rotate.succeeded", "connector.delete"}
    assert_no_leak(stack, seen, caplog)


def assert_no_leak(stack, answers: list[str], caplog) -> None:
    """The sentinel in no item of the table, no API answer, no log record, no file of the stack's own."""
    assert answers and not [a for a in answers if SENTINEL in a]
    client = stack._client("dynamodb")
    with scan_guard.allowed():
        pages = client.get_paginator("scan").paginate(TableName=stack.table_name)
        items = [item for page in pages for item in page["Items"]]
    assert items and not [i for i in items if SENTINEL in json.dumps(i)]
    records = [r.getMessage() for r in caplog.records]
    assert records and not [r for r in records if SENTINEL in r]
    # The stack's files: not the gateways' own (a gateway's config holds its values), nor the local Secrets
    # Manager's store (clawster/local/durable_secrets.py: it is the secret store, as Secrets Manager is on AWS).
    gateways, store = stack.state_dir / "gateways", stack.state_dir / durable_secrets.FILE
    files = [p for p in stack.state_dir.rglob("*") if p.is_file() and gateways not in p.parents and p != store]
    assert files and not [p for p in files if SENTINEL.encode() in p.read_bytes()]
    assert SENTINEL.encode() in store.read_bytes()  # where it is kept, so the scan above can tell


def test_a_rotation_whose_workflow_cannot_start_ends_failed_and_holds_nothing(stack, team, monkeypatch):
    """Step Functions refusing the start: a 503, and the connector is free again with its value unchanged (no
    rotation left RUNNING that would refuse every later one)."""
    from clawster.domain.roles import Role
    from clawster.services import connectors, executions
    from clawster.services.context import Access, Caller

    access = Access(Caller(team.users["OPERATOR"], "test-start-fails"), team.workspace_id, Role.OPERATOR,
                    "connector.rotate")
    created = team.clients["OPERATOR"].post(f"{team.ws}/connectors", {"name": "tg", "kind": "telegram",
                                                                       "value": "123456:" + "A" * 35}).ok(201).body

    def refused(*args, **kwargs):
        raise executions.WorkflowsUnavailable("Step Functions throttled the start")

    monkeypatch.setattr(executions, "start", refused)
    monkeypatch.setenv(executions.ENV, json.dumps(stack.state_machines))
    with pytest.raises(executions.WorkflowsUnavailable):
        connectors.rotate(access, created["id"], value="123456:" + "B" * 35, batch_size=None)
    after = team.clients["VIEWER"].get(f"{team.ws}/connectors/{created['id']}").ok(200).body
    assert after["rotation_id"] is None and after["last_rotation"]["status"] == "FAILED"
    assert "could not start" in after["last_rotation"]["reason"]
    assert after["current_version_id"] == created["current_version_id"]
    versions = stages(stack, created["secret_name"])
    assert versions[created["current_version_id"]] == ["AWSCURRENT"]
    assert all(labels == [] for version, labels in versions.items() if version != created["current_version_id"])


def test_a_rotation_waits_a_bounded_time_for_a_bot_another_workflow_owns_then_stops(stack, team):
    """A bot owned by another workflow (its intent set) is not written under it: the rotation retries (the
    ASL's bounded backoff), then stops, FAILED naming the bot's workflow, with the old version current."""
    from clawster.store.entities import Bot

    operator = team.clients["OPERATOR"]
    connector = operator.post(f"{team.ws}/connectors", {"name": "busy", "kind": "openai", "value": value(7)}).ok(201).body
    team.with_bot()
    config = {"models": {"providers": {"openai": {"apiKey": connector["reference"]}}}}
    bot = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                          {"name": "owned", "template_id": "minimal", "config": config}).ok(201).body
    item = Bot.get(*Bot.key(team.workspace_id, bot["id"]), consistent_read=True)
    # As a running bot whose `apply` workflow holds it (tests of the workflows run those for real).
    item.status, item.target, item.applied_revision_id = "RUNNING", "local", item.desired_revision_id
    item.intent = {"id": "another-request", "action": "apply"}
    item.stamp()
    item.save()

    path = f"{team.ws}/connectors/{connector['id']}"
    started = operator.post(f"{path}/rotate", {"value": value(8)}).ok(202).body
    rotation = wait_rotation(operator, f"{path}/rotations/{started['id']}")
    assert rotation["status"] == "FAILED" and "owned by its 'apply' workflow" in rotation["reason"], rotation
    assert rotation["bots"][bot["id"]]["status"] == "WAITING"  # never written
    versions = stages(stack, connector["secret_name"])
    assert versions[connector["current_version_id"]] == ["AWSCURRENT"] and versions[started["new_version_id"]] == []


def test_a_bot_cannot_run_on_another_workspaces_connector(stack, team, client_for, new_user):
    """Another tenant's connector named in a bot's config, a profile or an overlay: a 422 naming the path,
    nothing stored. The deploy step refuses it too (a config stored before this check), before any
    gateway gets the value."""
    from clawster.domain.secret_refs import InvalidSecretRef
    from functions.tasks.bot_workflow import _with_secrets

    other = client_for(new_user("other-tenant"))
    elsewhere = other.post("/workspaces", {"name": "elsewhere"}).ok(201).body["id"]
    theirs = other.post(f"/workspaces/{elsewhere}/connectors",
                        {"name": "theirs", "kind": "openai", "value": value(9)}).ok(201).body
    team.with_bot()
    config = {"models": {"providers": {"openai": {"apiKey": theirs["reference"]}}}}
    bots = f"{team.ws}/fleets/{team.fleet_id}/bots"
    before = len(team.owner.get(bots).ok(200).body["items"])
    refused = team.owner.post(bots, {"name": "borrower", "template_id": "minimal", "target": "local",
                                     "config": config}).ok(422).body
    assert refused["details"]["errors"] == [{"field": "config.models.providers.openai.apiKey",
                                             "reason": "names a connector secret of another workspace"}]
    assert len(team.owner.get(bots).ok(200).body["items"]) == before
    team.clients["ADMIN"].post(f"{team.ws}/profiles", {"name": "borrowed", "config": config}).ok(422)
    ours = team.owner.post(f"{team.ws}/connectors", {"name": "ours", "kind": "openai", "value": value(10)}).ok(201).body
    team.clients["ADMIN"].post(f"{team.ws}/profiles", {
        "name": "own", "config": {"models": {"providers": {"openai": {"apiKey": ours["reference"]}}}}}).ok(201)
    with pytest.raises(InvalidSecretRef) as caught:
        _with_secrets(config, team.workspace_id)
    assert caught.value.details["errors"][0]["field"] == "config.models.providers.openai.apiKey"
