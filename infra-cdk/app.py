"""CDK entry point: `python infra-cdk/app.py` (or `cdk synth` via the repo's cdk.json).

Synthesizes the "Clawster" stack into infra-cdk/cdk.out, or into $CDK_OUTDIR when the CDK CLI
(or a test) names another directory. The web console's build is console/dist, or $CLAWSTER_CONSOLE_DIST
(the tests' stand-in build). Everything the stack contains comes from functions/catalog.py
and shared/clawster/store/schema.py, so this file stays a thin shell.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# Importable without an installed package: the infra package, the catalog and the shared code.
for path in (HERE, REPO, REPO / "shared"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from clawster_infra import DEFAULT_OUTDIR, build_app  # noqa: E402
from clawster_infra.code_bundle import DepsLayerNotBuilt  # noqa: E402
from clawster_infra.console import CONSOLE_DIST, ConsoleNotBuilt  # noqa: E402


def main() -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    console_dist = Path(os.environ.get("CLAWSTER_CONSOLE_DIST") or CONSOLE_DIST)
    try:
        app = build_app(os.environ.get("CDK_OUTDIR") or str(DEFAULT_OUTDIR), console_dist=console_dist)
    except (DepsLayerNotBuilt, ConsoleNotBuilt) as error:  # what a first deploy misses: say what to run, no traceback
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
