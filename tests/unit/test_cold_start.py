"""The cold-start set-up of API functions (functions/api/_boot.py): lazy Powertools facades and no
garbage collection while importing. What a fresh Lambda process loads is checked in fresh
interpreters, since this test process has long imported everything."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from functions import catalog
from functions.api._boot import LazyFacade, install_lazy_facades, reexports

ROOT = Path(__file__).resolve().parents[2]
ENTRY_MODULES = [f.module for f in catalog.FUNCTIONS if f.rest_routes]

# Loaded by the package facades for a REST function that uses none of them.
UNUSED = (
    "asyncio",
    "aws_lambda_powertools.event_handler.appsync",
    "aws_lambda_powertools.event_handler.bedrock_agent",
    "aws_lambda_powertools.event_handler.bedrock_agent_function",
    "aws_lambda_powertools.event_handler.events_appsync",
    "aws_lambda_powertools.event_handler.http_resolver",
    "aws_lambda_powertools.event_handler.lambda_function_url",
    "aws_lambda_powertools.event_handler.vpc_lattice",
    "aws_lambda_powertools.utilities.data_classes.kafka_event",
    "aws_lambda_powertools.utilities.data_classes.s3_event",
    "aws_lambda_powertools.utilities.data_classes.sqs_event",
    "aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event",
    "aws_xray_sdk",  # tracing is off: the X-Ray SDK is not even imported
)


def fresh_python(code: str, **env: str) -> dict:
    """Run `code` in a new interpreter (this repo on its path) and return the JSON it prints last."""
    prelude = f"import json, sys\nsys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'shared')!r}]\n"
    import os

    run = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, **env})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ENTRY_MODULES)
def test_a_function_loads_no_unused_resolver_and_collects_no_garbage_while_importing(module):
    seen = fresh_python(f"""
        import gc
        collections = []

        def count(phase, info):  # from the pause on: _boot pauses right after defining ready()
            if phase == "start" and hasattr(sys.modules.get("functions.api._boot"), "ready"):
                collections.append(info["generation"])

        gc.callbacks.append(count)
        import {module}
        collections = list(collections)  # those that ran during the import
        print(json.dumps({{
            "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("asyncio", "aws_lambda_powertools", "aws_xray_sdk")),
            "facade": type(sys.modules["aws_lambda_powertools.event_handler"]).__name__,
            "collections": collections, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
        }}))
    """, POWERTOOLS_TRACE_DISABLED="true")
    assert [m for m in seen["loaded"] if m.startswith(UNUSED)] == []
    assert seen["facade"] == "LazyFacade"
    assert seen["collections"] == []  # without the pause, dozens of collections run during these imports
    assert seen["enabled"] and seen["frozen"] > 10_000  # back on before the first request; imports frozen


def test_a_process_importing_every_function_keeps_its_collector_on():
    """Like the local stack: one long-lived process imports the functions one after another."""
    seen = fresh_python(f"""
        import gc, importlib
        freezes = []
        real_freeze = gc.freeze
        gc.freeze = lambda: (freezes.append(1), real_freeze())[1]  # counted: how many times, not what it holds
        states = []
        from functions.api import _resolver  # the shared helpers alone do not pause the collector
        states.append(gc.isenabled())
        for module in {ENTRY_MODULES!r}:
            importlib.import_module(module)
            states.append((gc.isenabled(), len(freezes)))
        print(json.dumps(states))
    """)
    assert seen[0] is True
    enabled, freezes = zip(*seen[1:], strict=True)
    assert all(enabled)
    # Frozen once, by the first import, not again by each later one. (Counted as calls: the count of frozen
    # objects also falls when a later import frees one of them, which is no second freeze.)
    assert set(freezes) == {1}


def test_a_facade_that_is_not_used_costs_nothing_and_each_name_resolves_on_first_use(tmp_path, monkeypatch):
    package = f"facade_probe_{uuid.uuid4().hex}"
    folder = tmp_path / package
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(f'''
        """A facade, like Powertools' ones."""
        from .heavy import Heavy as Renamed
        from {package}.event_source import event_source
        __all__ = ["Renamed", "event_source"]
    '''))
    (folder / "heavy.py").write_text("class Heavy:\n    pass\n")
    (folder / "event_source.py").write_text("def event_source():\n    return 'the function'\n")
    (folder / "other.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        install_lazy_facades((package,))
        facade = sys.modules[package]
        assert isinstance(facade, LazyFacade)
        assert f"{package}.heavy" not in sys.modules

        assert facade.Renamed.__name__ == "Heavy"
        assert f"{package}.heavy" in sys.modules
        other = __import__(f"{package}.other", fromlist=["VALUE"])  # submodules import as usual
        assert other.VALUE == 1
        # importing the submodule binds it on the package; the re-exported function keeps its name
        __import__(f"{package}.event_source")
        assert facade.event_source() == "the function"
        namespace: dict = {}
        exec(f"from {package} import *", namespace)
        assert set(namespace) - {"__builtins__"} == {"Renamed", "event_source"}
        with pytest.raises(AttributeError):
            facade.missing  # noqa: B018
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]


def test_only_pure_reexports_are_replaced():
    source = '"""doc"""\nfrom __future__ import annotations\nfrom .a import A, B as C\nfrom x.y import z\n__all__ = ["A"]\n'
    assert reexports(source, "pkg.sub") == ({"A": ("pkg.sub.a", "A"), "C": ("pkg.sub.a", "B"), "z": ("x.y", "z")}, ["A"])
    assert reexports(source + "setup()\n", "pkg.sub") is None  # code: keep the real facade
    assert reexports("from .a import *\n", "pkg.sub") is None
    assert reexports("import os\n", "pkg.sub") is None


def test_a_facade_with_code_is_imported_for_real(tmp_path, monkeypatch):
    package = f"facade_probe_{uuid.uuid4().hex}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("from .a import A\nREADY = True\n")
    (tmp_path / package / "a.py").write_text("A = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        install_lazy_facades((package,))
        assert package not in sys.modules
        module = __import__(package)
        assert module.READY and module.A == 1 and not isinstance(module, LazyFacade)
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]
