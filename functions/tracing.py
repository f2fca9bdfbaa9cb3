"""X-Ray tracing, opt-in per stage: Powertools' Tracer wraps a handler only where tracing is on.

The stage turns it on with POWERTOOLS_TRACE_DISABLED=false (CDK context `tracing=true`, which also
sets the function's Tracing to Active); unset or true means off. Off, nothing here imports the
X-Ray SDK: `Tracer()` imports it at construction, and it costs ~100 ms of cold start
(docs/decisions.md), so the Tracer is only built when tracing is on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, Any], Any]

NOT_DISABLED = ("0", "n", "no", "f", "false", "off")  # what Powertools' strtobool reads as False


def enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").lower() in NOT_DISABLED


def traced(handler: Handler, service: str) -> Handler:
    """The handler inside a Tracer subsegment (cold start and service annotated, each AWS SDK call a
    subsegment of it), or the handler itself when tracing is off."""
    if not enabled():
        return handler
    from aws_lambda_powertools import Tracer

    # botocore only: the SDK's default also patches pynamodb, whose patch wraps botocore's HTTP session
    # and so records every DynamoDB call a second time, nested in the first.
    return Tracer(service=service, patch_modules=("botocore",)).capture_lambda_handler(handler)
