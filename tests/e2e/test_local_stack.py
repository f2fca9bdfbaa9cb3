"""The local stack serves every catalog function, and it makes Scan fail loudly."""

from __future__ import annotations

import boto3
import pytest

from functions import catalog


def test_the_local_stack_serves_every_catalog_function_and_route(stack, client_for):
    assert set(stack.functions) == {f.name for f in catalog.FUNCTIONS}
    client = client_for("route-prober")
    for function, route in catalog.rest_routes():
        path = route.path.replace("{action}", "stop")
        for name in ("workspace_id", "fleet_id", "bot_id", "revision_id"):
            path = path.replace("{" + name + "}", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
        path = path.replace("{user_id}", "someone")
        reply = client.request(route.method, path, {} if route.method in ("POST", "PUT", "PATCH") else None)
        assert reply.status < 500, (function.name, route, reply.body)
        assert not str(reply.body).startswith("{'code': 'NOT_FOUND', 'message': 'no route"), (route, reply.body)


def test_scan_is_refused_inside_the_stack(stack):
    from clawster.local.scan_guard import ScanForbidden

    client = boto3.client("dynamodb")
    with pytest.raises(ScanForbidden):
        client.scan(TableName=stack.table_name)
