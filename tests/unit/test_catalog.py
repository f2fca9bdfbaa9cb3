"""The catalog is the single source: each function's resolver serves exactly its catalog routes."""

from __future__ import annotations

import importlib
import re

from clawster.domain.roles import PERMISSIONS
from functions import catalog


def _resolver_routes(module_name: str) -> set[tuple[str, str]]:
    app = importlib.import_module(module_name).app
    routes = set()
    for route in app._static_routes + app._dynamic_routes:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        routes.add((route.method.upper(), path))
    return routes


def test_every_function_serves_exactly_its_catalog_routes():
    for function in catalog.FUNCTIONS:
        if not function.rest_routes:  # stream API, tasks, jobs: no resolver
            continue
        declared = {(r.method, r.path) for r in function.rest_routes}
        assert _resolver_routes(function.module) == declared, function.name


def test_catalog_entries_are_well_formed():
    names = [f.name for f in catalog.FUNCTIONS]
    assert len(names) == len(set(names))
    routes = [(r.method, r.path) for _, r in catalog.rest_routes()]
    assert len(routes) == len(set(routes)), "a route belongs to one function"
    for function, route in catalog.rest_routes():
        assert route.action in PERMISSIONS
        assert callable(getattr(importlib.import_module(function.module), function.handler.rsplit(".", 1)[1]))
        assert 128 <= function.memory_mb <= 10240 and 1 <= function.timeout_s <= 29  # API Gateway's limit
        for action in function.table_actions:
            assert action.startswith("dynamodb:") and "*" not in action


def test_only_health_and_the_api_description_are_public():
    assert [r.path for _, r in catalog.rest_routes() if r.public] == ["/health", "/openapi.json", "/swagger"]
