"""job-sweeper: every minute, a bot whose workflow is past its deadline is stopped and ends in ERROR
(clawster.services.sweeper has the rules and the 10,000-bot arithmetic)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from clawster.services import executions, sweeper

logger = Logger(service="clawster")


@logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = sweeper.sweep(stop_execution=executions.stop, remaining_ms=context.get_remaining_time_in_millis)
    logger.info("sweep", extra={"schedule": event.get("schedule"), "report": report.as_dict()})
    return report.as_dict()
