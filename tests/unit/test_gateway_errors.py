"""Each gateway error object, as the real gateway sends it (reference §5, §7), maps to one type."""

from __future__ import annotations

import pytest

from clawster.gateway import errors as e

CASES = [
    ({"code": "INVALID_REQUEST", "message": "unauthorized: gateway token mismatch", "details": {"code": "AUTH_TOKEN_MISMATCH"}},
     None, e.AuthenticationFailed),
    ({"code": "NOT_PAIRED", "message": "device identity required", "details": {"code": "DEVICE_IDENTITY_REQUIRED"}},
     None, e.AuthenticationFailed),
    ({"code": "NOT_PAIRED", "message": "pairing required", "details": {"code": "PAIRING_REQUIRED", "requestId": "r1"}},
     None, e.PairingRequired),
    ({"code": "FORBIDDEN", "message": "missing scope: operator.read",
      "details": {"code": "MISSING_SCOPE", "missingScope": "operator.read", "requiredScopes": ["operator.read"]}},
     None, e.MissingScope),
    ({"code": "INVALID_REQUEST", "message": "protocol mismatch", "details": {"code": "PROTOCOL_MISMATCH", "expectedProtocol": 4}},
     None, e.ProtocolMismatch),
    ({"code": "INVALID_REQUEST", "message": "config changed since last load; re-run config.get and retry"},
     None, e.ConfigConflict),
    ({"code": "INVALID_REQUEST", "message": "config base hash required for ui.seamColor; re-run config.get"},
     None, e.BaseHashRequired),
    ({"code": "UNAVAILABLE", "message": "rate limit exceeded for config.patch; retry after 12s", "retryable": True,
      "retryAfterMs": 11500, "details": {"method": "config.patch", "limit": "30 per 60s"}},
     None, e.RateLimited),
    ({"code": "UNAVAILABLE", "message": "gateway starting; retry shortly", "retryable": True, "retryAfterMs": 500},
     None, e.GatewayUnavailable),
    ({"code": "INVALID_REQUEST", "message": "invalid config: ui.seamColor: expected hex color (RRGGBB)",
      "details": {"issues": [{"path": "ui.seamColor", "message": "expected hex color (RRGGBB)"}]}},
     None, e.InvalidConfig),
    ({"code": "INVALID_REQUEST", "message": "unknown method: no.such.method"}, None, e.MethodNotSupported),
    ({"code": "INVALID_REQUEST", "message": "admin HTTP RPC method is not supported: agent"}, 400, e.MethodNotSupported),
    ({"code": "INVALID_REQUEST", "message": "invalid cron.add params: must have required property 'name'"},
     None, e.InvalidRequest),
    ({"message": "Unauthorized", "type": "unauthorized"}, 401, e.AuthenticationFailed),
    # The admin-http-rpc plugin's statuses: APPROVAL_NOT_FOUND 404, NOT_PAIRED/NOT_LINKED 409, FORBIDDEN 500, AGENT_TIMEOUT 504.
    ({"code": "APPROVAL_NOT_FOUND", "message": "approval not found"}, 404, e.ApprovalNotFound),
    ({"code": "INVALID_REQUEST", "message": "approval not found", "details": {"reason": "APPROVAL_NOT_FOUND"}},
     None, e.ApprovalNotFound),
    ({"code": "AGENT_TIMEOUT", "message": "agent timed out"}, 504, e.GatewayTimeout),
    ({"code": "NOT_PAIRED", "message": "pairing required"}, 409, e.AuthenticationFailed),
    ({"code": "NOT_LINKED", "message": "not linked"}, 409, e.AuthenticationFailed),
    ({"code": "FORBIDDEN", "message": "profile edits require the owning user or operator.admin"}, 500, e.MissingScope),
    ({"code": "SOMETHING_NEW", "message": "?"}, 500, e.GatewayFailed),
]


@pytest.mark.parametrize(("error", "status", "expected"), CASES, ids=[c[2].__name__ + str(i) for i, c in enumerate(CASES)])
def test_error_objects_map_to_exactly_one_type(error, status, expected):
    mapped = e.from_error(error, http_status=status)
    assert type(mapped) is expected
    assert mapped.message == error["message"]


def test_retry_information_travels_with_the_error():
    limited = e.from_error(CASES[7][0])
    assert limited.retryable and limited.retry_after_ms == 11500
    assert e.from_error(CASES[8][0]).retry_after_ms == 500
    assert e.from_error(CASES[5][0]).retryable  # a conflict is retried after config.get
    assert not e.from_error(CASES[0][0]).retryable
    assert e.from_error(CASES[9][0]).issues == [{"path": "ui.seamColor", "message": "expected hex color (RRGGBB)"}]
    assert e.from_error(CASES[2][0]).request_id == "r1"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, b'{"id":"h1","ok":false,"error":{"code":"APPROVAL_NOT_FOUND","message":"approval not found"}}',
         e.ApprovalNotFound),
        (404, b"Not Found", e.MethodNotSupported),  # no RPC reply: the plugin's route is not there
        (504, b'{"id":"h1","ok":false,"error":{"code":"AGENT_TIMEOUT","message":"agent timed out"}}', e.GatewayTimeout),
        (409, b'{"id":"h1","ok":false,"error":{"code":"NOT_PAIRED","message":"pairing required"}}', e.AuthenticationFailed),
        (500, b'{"id":"h1","ok":false,"error":{"code":"FORBIDDEN","message":"missing scope: operator.admin"}}', e.MissingScope),
        (400, b'{"ok":false,"error":{"type":"invalid_request","message":"method must be a non-empty string"}}', e.InvalidRequest),
        (503, b"<html>proxy</html>", e.GatewayUnavailable),
        (401, b'{"error":{"message":"Unauthorized","type":"unauthorized"}}', e.AuthenticationFailed),
    ],
    ids=["404-reply", "404-plain", "504", "409", "500-forbidden", "400-body-check", "503-not-json", "401"],
)
def test_the_admin_rpc_reply_body_decides_the_type_not_the_status(status, body, expected):
    from clawster.gateway.http_rpc import _payload

    with pytest.raises(e.GatewayError) as caught:
        _payload(status, body)
    assert type(caught.value) is expected


def test_new_types_keep_the_hierarchy():
    assert issubclass(e.ApprovalNotFound, e.PermanentError) and not e.ApprovalNotFound("x").retryable
    assert issubclass(e.GatewayTimeout, e.GatewayUnavailable) and e.GatewayTimeout("x").retryable
