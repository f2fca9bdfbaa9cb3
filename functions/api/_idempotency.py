"""`Idempotency-Key` on POST creates, with Powertools' idempotency utility on the table itself.

The first request with a key runs and its response (status, body, version) is stored; a repeat of
the same key by the same caller on the same route gets that response back without running again;
the same key with another body is a 422 naming the header. Records live in the caller's own
partition (`pk = IDEMPOTENCY#<user>`, `sk` = Powertools' hash of route and key) and expire through
the table's TTL attribute. A request that fails stores nothing: its retry runs again.
The utility is imported on the first request that carries a key, not at cold start."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from clawster import settings
from clawster.domain.errors import Conflict, ValidationFailed
from clawster.store import schema, session
from functions.api._resolver import respond

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples
EXPIRES_AFTER = 24 * 3600  # seconds a key is remembered

IdempotencyKey = Annotated[str | None, Header(
    alias=HEADER, max_length=255,
    description="Makes a retry safe: the same key (per caller and route, for 24 hours) returns the first "
                "response without creating again; the same key with another body is a 422.",
)]
Created = tuple[int, BaseModel, int | None]  # status, body, version (ETag)


def once(app: APIGatewayRestResolver, key: str | None, body: BaseModel | dict[str, Any],
         create: Callable[[], Created]) -> Response:
    """Run `create` once per (caller, route, key); without a key, just run it."""
    if key is None:
        status, out, version = create()
        return respond(status, out, version)
    if not KEY.match(key):
        raise ValidationFailed(HEADER, "must be 1 to 255 visible ASCII characters")
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    event = app.current_event
    config = IdempotencyConfig(event_key_jmespath="[route, key]", payload_validation_jmespath="body",
                               expires_after_seconds=EXPIRES_AFTER)
    if hasattr(app.lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(app.lambda_context)  # a crashed first request frees the key on its timeout

    @idempotent_function(data_keyword_argument="request", persistence_store=_layer(app.context["caller"].user_id),
                         config=config)
    def first(request: dict[str, Any]) -> dict[str, Any]:
        status, out, version = create()
        return {"status": status, "body": out.model_dump(mode="json"), "version": version}

    request = {"route": f"{event.http_method} {event.path}", "key": key,
               "body": body.model_dump(mode="json") if isinstance(body, BaseModel) else body}
    try:
        stored = first(request=request)
    except IdempotencyValidationError:
        raise ValidationFailed(HEADER, "was already used with another request body") from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict(f"a request with this {HEADER} is still in progress; retry later",
                       {"retry": True}) from None
    return respond(stored["status"], stored["body"], stored["version"])


def _layer(user_id: str):
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=settings.load().table_name, key_attr=schema.HASH, sort_key_attr=schema.RANGE,
        static_pk_value=f"IDEMPOTENCY#{user_id}", expiry_attr=schema.TTL_ATTRIBUTE, boto3_client=_client(),
    )


@cache
def _client():
    import boto3

    return boto3.session.Session(botocore_session=session.shared_session()).client(
        "dynamodb", region_name=settings.load().region)
