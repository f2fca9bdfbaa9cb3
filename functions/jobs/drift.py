"""job-drift: every minute (on AWS: the `drift_schedule` context value), each running bot's gateway config
against its applied revision: drift adopted, reverted or alerted per policy (clawster.services.drift has the
rules and the 10,000-bot arithmetic)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools import Logger

from clawster.services import drift
from layers.providers.registry import provider_for

logger = Logger(service="clawster")


@logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = drift.run(live=partial(drift.gateway_live, provider_for), request_id=context.aws_request_id,
                       remaining_ms=context.get_remaining_time_in_millis)
    logger.info("drift run", extra={"schedule": event.get("schedule"), "report": report.as_dict()})
    return report.as_dict()
