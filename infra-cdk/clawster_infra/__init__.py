"""The Clawster CDK app: one stack built from the function catalog and the table schema."""

from __future__ import annotations

from pathlib import Path

from .app import build_app

DEFAULT_OUTDIR = Path(__file__).resolve().parent.parent / "cdk.out"

__all__ = ["DEFAULT_OUTDIR", "build_app"]
