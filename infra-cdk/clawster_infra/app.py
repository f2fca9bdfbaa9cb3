"""build_app(): the CDK App holding the Clawster stack, with the cdk-nag AwsSolutions checks applied."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from functions.catalog import FUNCTIONS, Function

from .stack import ClawsterStack

STACK_NAME = "Clawster"


def build_app(outdir: str, functions: tuple[Function, ...] = FUNCTIONS) -> cdk.App:
    """The app to synthesize; `functions` defaults to the real catalog (tests pass variants)."""
    app = cdk.App(outdir=outdir)
    ClawsterStack(app, STACK_NAME, functions=functions, description="Clawster control plane")
    # Any AwsSolutions finding not acknowledged (with a reason, next to its resource) fails synthesis.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    return app
