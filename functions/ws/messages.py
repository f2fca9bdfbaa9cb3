"""Messages on a stream connection, routed by their `action` (route selection `$request.body.action`):
subscribe and unsubscribe to a topic; anything else reaches $default and is answered with an error.
Each gets one reply on the socket (the route response): {topic, type, data, at}."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from clawster.domain.errors import ValidationFailed
from clawster.errors import ClawsterError
from clawster.services import stream
from functions.ws._events import caller_of, connection_id, refusal, reply

logger = Logger(service="clawster")
ACTIONS = ("subscribe", "unsubscribe")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event["requestContext"].get("routeKey")
    message = _body(event)
    topic = message.get("topic")
    try:
        if route == "subscribe":
            return reply("subscribed", {}, stream.subscribe(connection_id(event), caller_of(event), topic))
        if route == "unsubscribe":
            return reply("unsubscribed", {}, stream.unsubscribe(connection_id(event), topic))
        raise ValidationFailed("action", f"send one of {', '.join(ACTIONS)} (as {{\"action\": ..., \"topic\": ...}})")
    except ClawsterError as error:
        logger.info("stream request refused", extra={"route": route, "code": error.code})
        return refusal(error, str(message.get("action") or route), topic)


def _body(event: dict[str, Any]) -> dict[str, Any]:
    try:
        message = json.loads(event.get("body") or "{}")
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}
