"""What the stream API's route functions read from an API Gateway WebSocket event, and how they answer."""

from __future__ import annotations

import json
from typing import Any

from clawster.domain import topics
from clawster.domain.errors import Unauthorized
from clawster.errors import ClawsterError
from clawster.services.context import Caller


def connection_id(event: dict[str, Any]) -> str:
    return event["requestContext"]["connectionId"]


def caller_of(event: dict[str, Any]) -> Caller:
    """The identity the $connect authorizer put in the connection's authorizer context."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    user = authorizer.get("sub") or authorizer.get("principalId")
    if not user:
        raise Unauthorized("the connection carries no identity")
    return Caller(user_id=str(user), request_id=context.get("requestId") or "unknown")


def reply(event_type: str, data: dict[str, Any] | None = None, topic: Any = None) -> dict[str, Any]:
    """The route response API Gateway sends back on the socket: one {topic, type, data, at} message."""
    return {"statusCode": 200, "body": json.dumps(topics.envelope(topic or "", event_type, data))}


def refusal(error: ClawsterError, action: str, topic: Any = None) -> dict[str, Any]:
    return reply("error", {"action": action[:40], **error.body()}, topic[:200] if isinstance(topic, str) else None)
