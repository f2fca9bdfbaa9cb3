"""$connect: record the connection (the authorizer has verified the caller) and select the subprotocol
a client that sent its token in Sec-WebSocket-Protocol offered beside it."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from clawster.services import stream, tokens
from functions.ws._events import caller_of, connection_id

logger = Logger(service="clawster")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stream.connect(connection_id(event), caller_of(event).user_id)
    headers = {"Sec-WebSocket-Protocol": tokens.SUBPROTOCOL} if tokens.offers_subprotocol(event.get("headers")) else {}
    return {"statusCode": 200, "headers": headers}
