"""build_app(): the CDK App holding the Clawster stack, with the cdk-nag AwsSolutions checks applied."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from functions.catalog import FUNCTIONS, Function

from .code_bundle import DEPS_LAYER
from .stack import ClawsterStack

STACK_NAME = "Clawster"


def build_app(
    outdir: str,
    functions: tuple[Function, ...] = FUNCTIONS,
    *,
    deps_layer: Path = DEPS_LAYER,
    context: dict | None = None,
) -> cdk.App:
    """The app to synthesize: the real catalog and layer by default (tests pass variants).

    `context` adds to what the CDK CLI passes (`-c key=value`); clawster_infra.options lists the keys read.
    """
    app = cdk.App(outdir=outdir, context=context)
    ClawsterStack(app, STACK_NAME, functions=functions, deps_layer=deps_layer, description="Clawster control plane")
    # Any AwsSolutions finding not acknowledged (with a reason, next to its resource) fails synthesis.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    return app
