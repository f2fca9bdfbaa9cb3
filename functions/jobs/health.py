"""job-health: every minute, each RUNNING or DEGRADED bot's gateway health through its provider ->
DEGRADED / RUNNING (clawster.services.health has the rules and the 10,000-bot arithmetic)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from clawster.services import health
from layers.providers.registry import provider_for

logger = Logger(service="clawster")


@logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = health.poll(probe=partial(health.gateway_health, provider_for), request_id=context.aws_request_id,
                         remaining_ms=context.get_remaining_time_in_millis)
    logger.info("health poll", extra={"schedule": event.get("schedule"), "report": report.as_dict()})
    return report.as_dict()
