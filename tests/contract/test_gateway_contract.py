"""One contract, two gateways: every test runs against the fake and against a real openclaw.

If the fake drifts from the real gateway (a frame shape, an error code, a status), the fake's
half of a test still passes but the real half fails, or the reverse.
"""

from __future__ import annotations

import json

import pytest

from clawster.gateway import (
    AuthenticationFailed,
    BaseHashRequired,
    ConfigConflict,
    DeviceIdentity,
    GatewayClient,
    InvalidConfig,
    MethodNotSupported,
    MissingScope,
    ProtocolMismatch,
)


def test_health_answers_on_both_transports(gateway):
    assert gateway.http().health()["ok"] is True
    with gateway.ws() as ws:
        assert ws.health()["ok"] is True
        hello = ws.transport.hello
    assert hello["type"] == "hello-ok" and hello["protocol"] == 4
    assert hello["auth"]["role"] == "operator" and "operator.admin" in hello["auth"]["scopes"]
    assert hello["policy"]["tickIntervalMs"] > 0


def test_config_get_gives_a_hash_and_redacts_the_token(gateway):
    snapshot = gateway.http().config_get()
    assert snapshot.hash.startswith("hmac-sha256:v1:")
    assert snapshot.valid is True
    assert snapshot.config["gateway"]["auth"]["token"] == "__OPENCLAW_REDACTED__"
    assert gateway.token not in json.dumps(snapshot.config)


def test_config_patch_with_base_hash_applies_and_moves_the_hash(gateway):
    client = gateway.http()
    before = client.config_get()
    color = "#12ab34" if before.config.get("ui", {}).get("seamColor") != "#12ab34" else "#34ab12"
    write = client.config_patch({"ui": {"seamColor": color}}, base_hash=before.hash, note="contract")
    assert write.hash != before.hash and write.requires_restart is False
    assert any(p.startswith("ui") for p in write.changed_paths)
    after = client.config_get()
    assert after.hash == write.hash and after.config["ui"]["seamColor"] == color


def test_a_stale_base_hash_is_a_conflict_the_caller_can_retry(gateway):
    client = gateway.http()
    stale = client.config_get().hash
    client.update_config({"ui": {"seamColor": "#0a0b0c"}})
    with pytest.raises(ConfigConflict) as caught:
        client.config_patch({"ui": {"seamColor": "#0c0b0a"}}, base_hash=stale)
    assert caught.value.retryable is True
    assert client.update_config({"ui": {"seamColor": "#0c0b0a"}}).hash == client.config_get().hash


def test_a_write_without_base_hash_is_refused(gateway):
    with gateway.ws() as ws, pytest.raises(BaseHashRequired):
        ws.transport.call("config.patch", {"raw": json.dumps({"ui": {"seamColor": "#111111"}})})


@pytest.mark.parametrize(
    ("patch", "path"),
    [({"ui": {"seamColor": "blue"}}, "ui.seamColor"), ({"bogusTopLevelKey": 1}, "")],
    ids=["bad-value", "unknown-key"],
)
def test_invalid_config_names_the_path(gateway, patch, path):
    client = gateway.http()
    before = client.config_get().hash
    with pytest.raises(InvalidConfig) as caught:
        client.update_config(patch)
    assert [issue["path"] for issue in caught.value.issues] == [path]
    assert client.config_get().hash == before, "a refused write must change nothing"


def test_schema_lookup_reports_the_reload_kind(gateway):
    client = gateway.http()
    assert client.config_schema_lookup("ui.seamColor")["reloadKind"] == "none"
    assert client.config_schema_lookup("gateway.port")["reloadKind"] == "restart"


def test_a_wrong_token_is_an_authentication_failure(gateway):
    with pytest.raises(AuthenticationFailed):
        gateway.http(token="wrong-token").health()
    with pytest.raises(AuthenticationFailed) as caught:
        gateway.ws_transport(token="wrong-token").connect()
    assert caught.value.details["code"] == "AUTH_TOKEN_MISMATCH"


def test_an_old_protocol_is_a_protocol_mismatch(gateway):
    with pytest.raises(ProtocolMismatch) as caught:
        gateway.ws_transport(protocol=3).connect()
    assert caught.value.details["expectedProtocol"] == 4


def test_a_client_without_scopes_gets_missing_scope(gateway):
    with gateway.ws(client_id="test", client_mode="test") as ws:
        assert ws.health()["ok"] is True  # health needs no scope
        with pytest.raises(MissingScope) as caught:
            ws.config_get()
    assert caught.value.missing_scope == "operator.read"


def test_unknown_and_http_excluded_methods_are_not_supported(gateway):
    with gateway.ws() as ws, pytest.raises(MethodNotSupported):
        ws.transport.call("no.such.method", {})
    with pytest.raises(MethodNotSupported):
        gateway.http().sessions_list()


def test_a_device_identity_is_paired_and_its_device_token_works_alone(gateway):
    device = DeviceIdentity.generate()
    first = gateway.ws_transport(device=device, client_id="cli", client_mode="cli")
    hello = first.connect()
    first.close()
    assert hello["auth"]["deviceToken"] == first.device_token
    second = gateway.ws_transport(token=None, device=device, device_token=first.device_token, client_id="cli", client_mode="cli")
    assert second.connect()["auth"]["method"] == "device-token"
    with GatewayClient(second) as client:
        paired = client.device_pair_list()["paired"]
    assert device.device_id in {d["deviceId"] for d in paired}


def test_agent_replies_in_two_frames(gateway):
    accepted = []
    with gateway.ws() as ws:
        # Generous: the mock model answers at once, but a gateway on a loaded machine is slow to run the turn.
        run = ws.agent("Say hello", session_key="contract", on_accepted=accepted.append, timeout_s=300)
        waited = ws.agent_wait(run.run_id, timeout_ms=300_000)
    assert [a["status"] for a in accepted] == ["accepted"] and accepted[0]["runId"] == run.run_id
    assert run.status == "ok" and run.text == gateway.expected_reply
    assert waited["status"] == "ok" and waited["terminalReply"]["text"] == gateway.expected_reply


def test_config_changes_are_pushed_as_events(gateway):
    with gateway.ws() as ws:
        ws.transport.connect()  # events reach connected clients only
        write = gateway.http().update_config({"ui": {"seamColor": "#a1b2c3"}})
        event = ws.transport.next_event(timeout_s=10, name="config.changed")
    assert event is not None and event["payload"]["hash"] == write.hash


def test_logs_tail_follows_with_a_cursor(gateway):
    client = gateway.http()
    first = client.logs_tail(limit=5)
    assert isinstance(first["lines"], list) and isinstance(first["cursor"], int)
    client.update_config({"ui": {"seamColor": "#c3b2a1"}})  # the gateway logs every config write
    follow = client.logs_tail(cursor=first["cursor"])
    assert follow["cursor"] >= first["cursor"] and follow["reset"] is False


def test_read_methods_return_their_documented_shapes(gateway):
    http = gateway.http()
    assert "channelOrder" in http.channels_status(probe=True)
    assert isinstance(http.models_list()["models"], list)
    assert isinstance(http.cron_list()["jobs"], list)
    assert set(http.device_pair_list()) >= {"pending", "paired"}
    assert "daily" in http.usage_cost()
    with gateway.ws() as ws:
        assert {"sessions", "count", "hasMore"} <= set(ws.sessions_list())
        assert "requests" in ws.channels_pairing_list()
        assert ws.system_info()["platform"]
