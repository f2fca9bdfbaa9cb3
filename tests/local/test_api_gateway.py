"""The local API Gateway: routing, the authorizer, REST proxy events that match AWS's shape, and
502 for a failing handler, tested on a gateway of its own with recording functions."""

from __future__ import annotations

import json
import threading

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from clawster.local.api_gateway import LocalApiGateway
from clawster.local.issuer import Issuer
from clawster.local.lambda_runtime import LocalFunction
from functions import catalog
from tests.helpers import Client


class Recording(LocalFunction):
    """A function that records its events and answers with `behaviour(event)`."""

    def __init__(self, name, behaviour):
        super().__init__(name, "unused.handler")
        self.events, self.behaviour = [], behaviour

    def invoke(self, event):
        self.events.append(event)
        return self.behaviour(event)


def ok(event):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"X-Multi": ["a", "b"]}, "body": json.dumps({"seen": event["path"]})}


@pytest.fixture
def gateway(tmp_path):
    issuer = Issuer(tmp_path)
    functions = {f.name: Recording(f.name, ok) for f in catalog.FUNCTIONS}
    gateway = LocalApiGateway(functions, issuer, port=0)
    gateway.start()
    gateway.functions, gateway.issuer = functions, issuer
    yield gateway
    gateway.stop()


def test_the_event_is_a_valid_rest_proxy_event_with_the_callers_claims(gateway):
    client = Client(gateway.url, gateway.issuer.issue("dora"))
    reply = client.post("/workspaces/W1/fleets/F1/bots", {"name": "x"}, query={"a": ["1", "2"]})
    assert reply.ok(200).body == {"seen": "/workspaces/W1/fleets/F1/bots"}
    event = gateway.functions["api-bots"].events[-1]
    parsed = APIGatewayProxyEventModel.model_validate(event)
    assert parsed.resource == "/workspaces/{workspace_id}/fleets/{fleet_id}/bots"
    assert parsed.pathParameters == {"workspace_id": "W1", "fleet_id": "F1"}
    assert parsed.multiValueQueryStringParameters == {"a": ["1", "2"]}
    assert parsed.requestContext.authorizer.claims["sub"] == "dora"
    assert json.loads(parsed.body) == {"name": "x"}


def test_literal_segments_win_over_parameters(gateway):
    client = Client(gateway.url, gateway.issuer.issue("erin"))
    client.get("/workspaces/W1/bots/B1/revisions").ok(200)
    assert gateway.functions["api-bots"].events[-1]["resource"].endswith("/bots/{bot_id}/revisions")
    client.post("/workspaces/W1/bots/B1/pause").ok(200)
    event = gateway.functions["api-bots"].events[-1]
    assert event["resource"].endswith("/{action}") and event["pathParameters"]["action"] == "pause"


def test_no_token_gets_401_before_the_function_runs(gateway):
    for token in (None, "nonsense", gateway.issuer.issue("fred", ttl_s=-1)):
        reply = Client(gateway.url, token).get("/workspaces")
        assert reply.ok(401).body["code"] == "UNAUTHORIZED" and set(reply.body) == {"code", "message", "details"}
    assert gateway.functions["api-workspaces"].events == []
    assert Client(gateway.url, None).get("/health").ok(200)  # public route: no authorizer


def test_unknown_paths_and_methods(gateway):
    client = Client(gateway.url, gateway.issuer.issue("gina"))
    assert client.get("/nope").ok(404).body["code"] == "NOT_FOUND"
    assert client.request("PUT", "/health", {}).ok(405).body["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("behaviour", [
    lambda event: 1 / 0,
    lambda event: {"body": "no status code"},
    lambda event: "not a dict",
])
def test_a_failing_handler_becomes_502_as_on_aws(gateway, behaviour):
    gateway.functions["api-meta"].behaviour = behaviour
    reply = Client(gateway.url, None).get("/health")
    assert reply.ok(502).body == {"message": "Internal server error"}


def test_stop_waits_for_the_request_inside_a_function_and_then_refuses_new_ones(tmp_path):
    """The stack saves right after stop() returns: a handler still running then could commit a write
    the save misses. Hold a handler inside the function, stop, and see stop wait for it."""
    issuer = Issuer(tmp_path)
    inside, release = threading.Event(), threading.Event()

    def slow(event):
        inside.set()
        release.wait(60)
        return ok(event)

    functions = {f.name: Recording(f.name, slow if f.name == "api-meta" else ok) for f in catalog.FUNCTIONS}
    gateway = LocalApiGateway(functions, issuer, port=0)
    gateway.start()
    replies, stopped = [], threading.Event()
    request = threading.Thread(target=lambda: replies.append(Client(gateway.url, None).get("/health")))
    request.start()
    assert inside.wait(60)
    stopper = threading.Thread(target=lambda: (gateway.stop(), stopped.set()))
    stopper.start()
    assert not stopped.wait(1), "stop() returned while a request was still inside its function"
    assert gateway.handle("GET", "/health", [], b"", "127.0.0.1")[0] == 503  # nothing new gets in meanwhile
    release.set()
    assert stopped.wait(60)
    request.join(60)
    assert replies and replies[0].status == 200
