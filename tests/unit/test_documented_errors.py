"""Each route documents the error statuses it can really return, no more: the expectation is
written here by hand from what the handlers and services do (an oracle that does not read the code's
own presets), so status-code conformance checks (schemathesis) mean something.

429 is on every route: API Gateway's stage throttle answers before any of them."""

from __future__ import annotations

import pytest

from functions.api import openapi_doc

WS = "/workspaces/{workspace_id}"

# (method, path) -> the error statuses, and why each is possible.
EXPECTED = {
    ("GET", "/health"): {429},  # public, no table
    ("GET", "/openapi.json"): {429},  # public, no table
    ("GET", "/templates"): {401, 429},  # token only; templates are built in
    ("GET", "/targets"): {401, 429},  # token only; the deployment's targets
    ("GET", "/workspaces"): {400, 401, 422, 429},  # token; cursor (400 foreign, 422 limit); reads only memberships
    # token; body (400 not UTF-8, 413, 415, 422); 409 Idempotency-Key in progress; 503 transaction
    ("POST", "/workspaces"): {400, 401, 409, 413, 415, 422, 429, 503},
    # a member read: 404 non-member; 503 the gate's outsider record is a transaction
    ("GET", WS): {401, 404, 429, 503},
    ("GET", WS + "/members"): {401, 404, 429, 503},
    # ADMIN and up (403); body; If-Match (422 malformed, 428 missing, 409 stale)
    ("PATCH", WS): {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503},
    ("DELETE", WS + "/fleets/{fleet_id}"): {401, 403, 404, 409, 422, 428, 429, 503},
    # cursor (400) and limit (422); VIEWER may list, so no 403
    ("GET", WS + "/fleets"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/fleets/{fleet_id}/bots"): {400, 401, 404, 422, 429, 503},
    # OPERATOR and up; 409 name taken / key in progress; no If-Match on a create
    ("POST", WS + "/fleets/{fleet_id}/bots"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # no body; 422 unknown action or bad Idempotency-Key; 409 wrong state
    ("POST", WS + "/bots/{bot_id}/{action}"): {401, 403, 404, 409, 422, 429, 503},
    # a body (the version); 409 wrong state or no target; 422 a version the target does not offer
    ("POST", WS + "/bots/{bot_id}/upgrade"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # a body; 409 a workflow owns the bot, or a stale write; 422 the desired one already or now invalid
    ("POST", WS + "/bots/{bot_id}/rollback"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # a body; 409 a workflow owns the bot, or a stale write; 422 a channel the bot lacks, or the policy packs
    ("POST", WS + "/bots/{bot_id}/pairing/approve"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # 422: a malformed `against`
    ("GET", WS + "/bots/{bot_id}/revisions/{revision_id}/diff"): {401, 404, 422, 429, 503},
    ("GET", WS + "/bots/{bot_id}/revisions/{revision_id}"): {401, 404, 429, 503},
    # ADMIN and up; cursor; since/until/limit
    ("GET", WS + "/audit"): {400, 401, 403, 404, 422, 429, 503},
    # VIEWER may read drift (no 403): cursor (400) and limit (422) on the workspace's list
    ("GET", WS + "/drift"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/bots/{bot_id}/drift"): {401, 404, 429, 503},
    # ADMIN and up; body (422: an unknown class or action); 409 a concurrent policy write; no If-Match
    ("PUT", WS + "/bots/{bot_id}/drift-policy"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    ("PUT", WS + "/fleets/{fleet_id}/drift-policy"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # ADMIN and up; 422 user_id pattern; 409 last OWNER or stale; no body
    ("DELETE", WS + "/members/{user_id}"): {401, 403, 404, 409, 422, 429, 503},
    # templates: a write is refused for a bot it would break (409 a locked path, 422 a config its OpenClaw refuses)
    ("POST", WS + "/templates"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    ("GET", WS + "/templates"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/templates/{layer_id}"): {401, 404, 429, 503},
    ("PATCH", WS + "/templates/{layer_id}"): {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503},
    ("DELETE", WS + "/templates/{layer_id}"): {401, 403, 404, 409, 422, 428, 429, 503},
    # profiles: a write is refused for a bot it would break (409 a locked path, 422 a config its OpenClaw refuses)
    ("POST", WS + "/profiles"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    ("GET", WS + "/profiles"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/profiles/{layer_id}"): {401, 404, 429, 503},
    ("PATCH", WS + "/profiles/{layer_id}"): {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503},
    ("DELETE", WS + "/profiles/{layer_id}"): {401, 403, 404, 409, 422, 428, 429, 503},
    # overlays: a write is refused for a bot it would break (409 a locked path, 422 a config its OpenClaw refuses)
    ("POST", WS + "/overlays"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    ("GET", WS + "/overlays"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/overlays/{layer_id}"): {401, 404, 429, 503},
    ("PATCH", WS + "/overlays/{layer_id}"): {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503},
    ("DELETE", WS + "/overlays/{layer_id}"): {401, 403, 404, 409, 422, 428, 429, 503},
    # VIEWER may preview (no 403); a dry run: no If-Match, no 409; 422 a bad proposed layer
    ("POST", WS + "/config-preview"): {400, 401, 404, 413, 415, 422, 429, 503},
    # no body; If-Match; 409 also a locked path or a workflow owning the bot; 422 a config its OpenClaw refuses
    ("POST", WS + "/bots/{bot_id}/refresh"): {401, 403, 404, 409, 422, 428, 429, 503},
    # 409/422: the layers as they are now give the bot no valid config
    ("GET", WS + "/bots/{bot_id}/effective-config"): {401, 404, 409, 422, 429, 503},
    ("GET", "/policy-packs/builtin"): {401, 429},  # token only; the packs are built in
    # VIEWER may list (no 403); cursor (400) and limit (422)
    ("GET", WS + "/policy-packs"): {400, 401, 404, 422, 429, 503},
    # ADMIN and up; body (422 also: an unknown rule type or op); 409 key in progress
    ("POST", WS + "/policy-packs"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # VIEWER may evaluate (no 403); body; a dry run writes nothing and takes no If-Match (no 409)
    ("POST", WS + "/policy-packs/evaluate"): {400, 401, 404, 413, 415, 422, 429, 503},
    ("GET", WS + "/policy-packs/{pack_id}"): {401, 404, 429, 503},
    ("PATCH", WS + "/policy-packs/{pack_id}"): {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503},
    ("DELETE", WS + "/policy-packs/{pack_id}"): {401, 403, 404, 409, 422, 428, 429, 503},
    # OPERATOR and up; body (422 also: a value of the wrong shape for its kind); no Idempotency-Key (a hash of
    # the body, which holds the secret, would be stored); 503 the transaction or Secrets Manager
    ("POST", WS + "/connectors"): {400, 401, 403, 404, 413, 415, 422, 429, 503},
    ("GET", WS + "/connectors"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/connectors/{connector_id}"): {401, 404, 429, 503},
    ("PATCH", WS + "/connectors/{connector_id}"): {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503},
    # 409 also: being rotated, or referenced by a bot's config
    ("DELETE", WS + "/connectors/{connector_id}"): {401, 403, 404, 409, 422, 428, 429, 503},
    # OPERATOR and up (it reads the value); no body; 503 the result's write or Secrets Manager
    ("POST", WS + "/connectors/{connector_id}/test"): {401, 403, 404, 429, 503},
    # a body (422: wrong shape, or the current value again); 409 a rotation runs already
    ("POST", WS + "/connectors/{connector_id}/rotate"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    ("GET", WS + "/connectors/{connector_id}/rotations/{rotation_id}"): {401, 404, 429, 503},
    # OPERATOR and up; body (422 also: a rule between fields, a bot without a gateway); 409 a bot in another
    # active rollout; 404 an explicit bot outside the workspace; no Idempotency-Key, no If-Match
    ("POST", WS + "/rollouts"): {400, 401, 403, 404, 409, 413, 415, 422, 429, 503},
    # VIEWER may list (no 403); cursor (400) and limit (422)
    ("GET", WS + "/rollouts"): {400, 401, 404, 422, 429, 503},
    ("GET", WS + "/rollouts/{rollout_id}"): {401, 404, 429, 503},
    # OPERATOR and up; no body; 422 an unknown action; 409 a status that does not take it, or a stale write
    ("POST", WS + "/rollouts/{rollout_id}/{action}"): {401, 403, 404, 409, 422, 429, 503},
}


def _errors(method: str, path: str) -> set[int]:
    responses = openapi_doc.document()["paths"][path][method.lower()]["responses"]
    return {int(code) for code in responses if int(code) >= 400}


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_route_documents_exactly_the_errors_it_can_return(method, path):
    assert _errors(method, path) == EXPECTED[(method, path)]


def test_no_route_documents_every_error_status():
    everything = {400, 401, 403, 404, 409, 413, 415, 422, 428, 429, 503}
    for path, operations in openapi_doc.document()["paths"].items():
        for method in operations:
            if path == WS or not path.startswith(WS):
                continue
            assert _errors(method, path) != everything or method == "patch", (method, path)


def test_error_responses_use_the_error_body_and_no_generated_422():
    for path, operations in openapi_doc.document()["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
