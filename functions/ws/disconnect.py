"""$disconnect: remove the connection and its subscriptions (best effort on AWS, as API Gateway says;
the publisher removes what this missed when a post answers 410, and the TTL the rest)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from clawster.services import stream
from functions.ws._events import connection_id

logger = Logger(service="clawster")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    stream.disconnect(connection_id(event))
    return {"statusCode": 200}
