"""One contract, two gateways: every test runs against the fake and against a real openclaw.

If the fake drifts from the real gateway (a frame shape, an error code, a status), the fake's
half of a test still passes but the real half fails, or the reverse.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from clawster.gateway import (
    AdminRpcTransport,
    ApprovalNotFound,
    AuthenticationFailed,
    BaseHashRequired,
    ConfigConflict,
    DeviceIdentity,
    GatewayClient,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidConfig,
    InvalidRequest,
    MethodNotSupported,
    MissingScope,
    ProtocolMismatch,
    RateLimited,
    http_rpc,
)
from clawster.gateway.websocket import OPERATOR_SCOPES


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


def test_logs_tail_lines_carry_the_level_and_time_the_error_rate_gate_counts(gateway):
    """The rollout's error-rate gate (clawster.domain.gates.count_log_lines) counts logs.tail lines by their tslog
    level (`_meta.logLevelId`, ERROR = 5) and their ISO `time`: both gateways must write them so."""
    from clawster.domain.gates import count_log_lines

    client = gateway.http()
    since = time.time() - 2  # the same host's clock; a little slack for the millisecond rounding
    client.update_config({"ui": {"seamColor": "#b1c2d3"}})  # logged by both
    lines = client.logs_tail(limit=200)["lines"]
    events = [json.loads(line) for line in lines]
    levels = {"SILLY": 0, "TRACE": 1, "DEBUG": 2, "INFO": 3, "WARN": 4, "ERROR": 5, "FATAL": 6}  # tslog
    assert events and all(levels[e["_meta"]["logLevelName"]] == e["_meta"]["logLevelId"] for e in events)
    assert all(isinstance(e["time"], str) and e["time"][:4].isdigit() for e in events)
    assert count_log_lines(lines, 0).total == len(events)
    assert count_log_lines(lines, since).total >= 1, "the config write's own line is in the window"
    assert count_log_lines(lines, time.time() + 60).total == 0


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


# --- where the fake and the client once diverged from openclaw 2026.9.6 (issue 8, point 10) ----------

def _raw_post(url: str, token: str, body: bytes = b'{"method":"health"}') -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_admin_rpc_statuses_follow_the_plugins_table(gateway):
    """Real: the installed plugin's rpcHttpStatus, read from its code. Fake: the statuses it serves."""
    assert gateway.admin_rpc_status_table() == {
        "INVALID_REQUEST": 400, "APPROVAL_NOT_FOUND": 404, "NOT_LINKED": 409, "NOT_PAIRED": 409, "UNAVAILABLE": 503,
        "AGENT_TIMEOUT": 504, "*": 500,  # FORBIDDEN included: 500, not 403
    }


ERROR_TYPES = {"INVALID_REQUEST": InvalidRequest, "APPROVAL_NOT_FOUND": ApprovalNotFound, "NOT_LINKED": AuthenticationFailed,
               "NOT_PAIRED": AuthenticationFailed, "UNAVAILABLE": GatewayUnavailable, "AGENT_TIMEOUT": GatewayTimeout,
               "FORBIDDEN": MissingScope}


@pytest.mark.parametrize("code", sorted(ERROR_TYPES))
def test_an_admin_rpc_error_is_typed_by_its_body_whatever_its_status(gateway, code):
    """A 404 carrying an RPC reply is that reply's error (APPROVAL_NOT_FOUND), never "plugin not enabled".

    The real gateway cannot be made to send most of these over HTTP (AGENT_TIMEOUT and NOT_LINKED have no
    emitter in 2026.9.6, the trusted HTTP caller is never NOT_PAIRED or FORBIDDEN), so its half decodes the
    reply at the status its own plugin table gives; the fake's half goes through HTTP end to end."""
    status = gateway.admin_rpc_status_table()
    status = status.get(code, status["*"])
    if gateway.fake is not None:
        gateway.fake.inject_error("health", code, f"injected {code}")
        with pytest.raises(GatewayError) as caught:
            gateway.http().health()
    else:
        reply = json.dumps({"id": "h1", "ok": False, "error": {"code": code, "message": f"injected {code}"}}).encode()
        with pytest.raises(GatewayError) as caught:
            http_rpc._payload(status, reply)
    assert type(caught.value) is ERROR_TYPES[code], (status, caught.value)
    assert caught.value.gateway_code == code and caught.value.message == f"injected {code}"


def test_a_404_without_an_rpc_reply_means_there_is_no_admin_rpc_route(gateway):
    status, body = _raw_post(gateway.http_url + "/no-such-prefix/api/v1/admin/rpc", gateway.token)
    assert (status, body) == (404, b"Not Found")  # plain text: no RPC reply to read
    with pytest.raises(MethodNotSupported) as caught:
        GatewayClient(AdminRpcTransport(gateway.http_url + "/no-such-prefix", gateway.token)).health()
    assert caught.value.gateway_code == "NOT_FOUND"


def test_an_unknown_approval_is_approval_not_found(gateway):
    with gateway.ws() as ws, pytest.raises(ApprovalNotFound) as caught:
        ws.approval_get("no-such-approval")
    assert caught.value.gateway_code == "INVALID_REQUEST" and caught.value.details["reason"] == "APPROVAL_NOT_FOUND"
    assert caught.value.retryable is False


def test_connect_accepts_what_the_real_schema_accepts(gateway):
    transport = gateway.ws_transport(client_info={"timeZone": "Europe/Berlin", "buildId": "clawster-contract"},
                                     scopes=(*OPERATOR_SCOPES, "operator.not-yet-invented"))
    try:
        hello = transport.connect()
    finally:
        transport.close()
    assert "operator.not-yet-invented" in hello["auth"]["scopes"]  # unknown scopes are kept, not refused


@pytest.mark.parametrize(
    ("client_info", "scopes", "where"),
    [({"version": ""}, OPERATOR_SCOPES, "/client/version"), ({"platform": ""}, OPERATOR_SCOPES, "/client/platform"),
     ({"displayName": ""}, OPERATOR_SCOPES, "/client/displayName"), ({"timeZone": ""}, OPERATOR_SCOPES, "/client/timeZone"),
     ({}, ("operator.read", ""), "/scopes/1")],
    ids=["version", "platform", "displayName", "timeZone", "scope"],
)
def test_connect_refuses_empty_strings(gateway, client_info, scopes, where):
    transport = gateway.ws_transport(client_info=client_info, scopes=scopes)
    with pytest.raises(InvalidRequest) as caught:
        transport.connect()
    assert caught.value.message == f"invalid connect params: at {where}: must not have fewer than 1 characters"


def test_models_list_details_and_account_selection(gateway):
    def mock(reply: dict) -> dict:
        return next(m for m in reply["models"] if m["provider"] == "mock")

    http = gateway.http()
    plain, detailed = http.models_list(), http.models_list(include_details=True)
    assert mock(plain)["id"] == "mock-1" and mock(plain)["tags"] == ["default"] and mock(plain)["available"] is True
    assert "input" not in mock(plain) and "local" not in mock(plain)
    assert mock(detailed)["input"] == ["text"] and mock(detailed)["local"] is True
    assert plain["accountSelection"] == {"kind": "automatic", "label": "Automatic account selection"}
    with gateway.ws() as ws:
        over_ws = ws.models_list(include_details=True)
    assert "accountSelection" not in over_ws and mock(over_ws)["input"] == ["text"]


def test_channels_pairing_has_the_real_shapes(gateway):
    with gateway.ws() as ws:
        listed = ws.channels_pairing_list()
        with pytest.raises(InvalidRequest, match="accountId"):
            ws.channels_pairing_approve({"channel": "telegram", "code": "ABC123"})  # a shape the gateway never had
        with pytest.raises(InvalidRequest, match="unknown pairing channel: nope"):
            ws.channels_pairing_approve({"channel": "nope", "accountId": "default", "requestId": "r1"})
    assert set(listed) == {"accounts", "requests", "commandOwnerConfigured", "limits"}
    assert listed["accounts"] == [] and listed["requests"] == [] and listed["commandOwnerConfigured"] is False
    assert listed["limits"] == {"pendingPerAccount": 3, "ttlMs": 3_600_000}


def test_an_agent_turn_without_a_usable_model_fails(gateway):
    with gateway.ws() as ws, pytest.raises(GatewayUnavailable) as caught:
        ws.agent("Say hello", session_key="contract-no-model", model="openai/gpt-6-astra", timeout_s=300)
    assert caught.value.message == "No route-compatible authentication source is configured for openai."


def _readyz(gateway) -> tuple[int | None, dict]:
    try:
        with urllib.request.urlopen(gateway.http_url + "/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return None, {}  # not listening (a real restart has a gap)


def _connect_once(gateway) -> str:
    transport = gateway.ws_transport(connect_timeout_s=30)
    try:
        transport.connect(retry=False)
        return "hello"
    except GatewayUnavailable as error:
        return "starting" if error.details.get("reason") == "startup-sidecars" else "down"
    finally:
        transport.close()


def test_readyz_is_not_ready_while_connect_answers_starting(gateway):
    """Restart the gateway, then alternate /readyz and connect until connect works again: a connect that
    answered "gateway starting" never has a ready /readyz on both sides of it (one side may be ready
    legitimately, as the restart begins or ends between the two probes)."""
    gateway.http().transport.call("gateway.restart.request", {"reason": "contract: readyz", "skipDeferral": True})
    readies, outcomes, deadline = [_readyz(gateway)], [], time.monotonic() + 240
    while time.monotonic() < deadline:
        outcomes.append(_connect_once(gateway))
        readies.append(_readyz(gateway))
        if outcomes[-1] == "hello" and any(outcome != "hello" for outcome in outcomes):
            break
    assert outcomes[-1] == "hello", list(zip(readies, outcomes, strict=False))[-5:]
    around_starting = [(readies[i], readies[i + 1]) for i, outcome in enumerate(outcomes) if outcome == "starting"]
    assert around_starting, "connect never answered 'gateway starting' during the restart"
    for before, after in around_starting:
        assert before[0] != 200 or after[0] != 200, (before, after)
        assert all(status in (None, 503) for status, _ in (before, after) if status != 200), (before, after)
        assert all("startup-sidecars" in body["failing"] for status, body in (before, after) if status == 503), (before, after)


def test_config_writes_are_rate_limited_and_update_config_waits_it_out(gateway):
    """30 config.patch per window per device and address; refused params spend the budget too. A fresh
    device has its own budget, so the other cases' writes are not held up."""
    device = DeviceIdentity.generate()
    with gateway.ws(device=device, client_id="cli", client_mode="cli") as ws:
        limited, spent = None, 0
        while limited is None and spent < 40:
            spent += 1
            try:
                ws.transport.call("config.patch", {})  # no raw: refused after the budget is spent
            except RateLimited as error:
                limited, limited_at = error, time.monotonic()
            except InvalidRequest:
                pass
        assert limited is not None and spent == 31, spent
        assert limited.retryable and 0 < limited.retry_after_ms <= 60_000
        assert limited.details == {"method": "config.patch", "limit": limited.details["limit"]}
        assert limited.message.startswith("rate limit exceeded for config.patch; retry after ")
        assert gateway.http().update_config({"ui": {"seamColor": "#5a5a5a"}}).hash  # another caller: not limited

        started = time.monotonic()
        with pytest.raises(RateLimited):  # the wait would end after the deadline: no sleeping it out
            ws.update_config({"ui": {"seamColor": "#6b6b6b"}}, deadline_s=0.0)
        assert time.monotonic() - started < 10

        write = ws.update_config({"ui": {"seamColor": "#6b6b6b"}}, deadline_s=180)
        written_at = time.monotonic()
        assert write.hash == ws.config_get().hash
    # It waited the window out (the time the gateway named, counted from its refusal) instead of failing.
    waited = written_at - limited_at
    assert waited >= limited.retry_after_ms / 1000 - 1.0, (waited, limited.retry_after_ms)
