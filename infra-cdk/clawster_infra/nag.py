"""cdk-nag v3 acknowledgments: each one names the finding and says why it is accepted."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one finding (e.g. "AwsSolutions-IAM5[Resource::*]") on a construct and its children."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
