"""The gateways the contract suite runs against: the fake (fast) and a real openclaw 2026.9.6.

The real one is started by the local provider with the mock model configured, once per test
process. `make test` distributes by file (--dist loadfile), so this module's real gateway and the
provider module's (at most two) run on different workers: never more than three gateways at once
(each takes 1-1.5 GB).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from clawster.gateway import AdminRpcTransport, GatewayClient, WebSocketTransport
from clawster.local.mock_model import MockModel
from tests.fakes.fake_gateway import FakeGateway

REAL = pytest.param("real", marks=pytest.mark.slow)


@dataclass
class GatewayUnderTest:
    kind: str
    http_url: str
    ws_url: str
    token: str
    expected_reply: str
    fake: FakeGateway | None = None  # the fake's own hooks (inject_error); None for the real gateway
    openclaw_package: Path | None = None  # the real gateway's installed package (read its plugin code)

    def http(self, token: str | None = None) -> GatewayClient:
        return GatewayClient(AdminRpcTransport(self.http_url, token or self.token))

    def ws_transport(self, **kwargs) -> WebSocketTransport:
        kwargs.setdefault("token", self.token)
        return WebSocketTransport(self.ws_url, **kwargs)

    def ws(self, **kwargs) -> GatewayClient:
        return GatewayClient(self.ws_transport(**kwargs))

    def admin_rpc_status_table(self) -> dict[str, int]:
        """Gateway error code -> HTTP status of the admin RPC ("*" for any other code).

        Real: read from the installed admin-http-rpc plugin's rpcHttpStatus. Fake: measured, by making
        `health` answer each code in turn and reading the status it serves."""
        if self.fake is None:
            source = (self.openclaw_package / "dist" / "extensions" / "admin-http-rpc" / "index.js").read_text()
            body = source[source.index("function rpcHttpStatus"):]
            body = body[: body.index("\n}\n")]
            table, pending = {}, []
            for case, default, status in re.findall(r"case ErrorCodes\.(\w+):|(default):|return (\d+);", body):
                if case or default:
                    pending.append(case or "*")
                elif status and pending:
                    table.update(dict.fromkeys(pending, int(status)))
                    pending = []
            return table
        import urllib.error
        import urllib.request

        table = {}
        for code in (*ADMIN_RPC_CODES, "FORBIDDEN", "SOMETHING_ELSE"):
            self.fake.inject_error("health", code, f"injected {code}")
            request = urllib.request.Request(self.http_url + "/api/v1/admin/rpc", data=b'{"method":"health"}', method="POST",
                                             headers={"Authorization": f"Bearer {self.token}"})
            try:
                urllib.request.urlopen(request, timeout=10).close()
                status = 200
            except urllib.error.HTTPError as error:
                status = error.code
            table["*" if code == "SOMETHING_ELSE" else code] = status
        return {code: status for code, status in table.items() if code == "*" or status != table["*"]}


# The error codes the plugin's status table names (FORBIDDEN, the gateway's other code, falls to its default).
ADMIN_RPC_CODES = ("INVALID_REQUEST", "APPROVAL_NOT_FOUND", "NOT_LINKED", "NOT_PAIRED", "UNAVAILABLE", "AGENT_TIMEOUT")


@pytest.fixture(scope="session")
def mock_model():
    with MockModel() as model:
        yield model


# The fake's write window is shortened (the real one's is 60 s) so its rate-limit case waits ~2 s, not 60.
FAKE_WRITE_WINDOW_MS = 2_000


@pytest.fixture(scope="session")
def fake_gateway(mock_model):
    fake = FakeGateway("fake-token", write_window_ms=FAKE_WRITE_WINDOW_MS)
    fake.set_config_externally(mock_model.provider_config())  # the same model the real one is given
    with fake:
        yield GatewayUnderTest("fake", fake.http_url, fake.ws_url, fake.token, mock_model.reply, fake=fake)


@pytest.fixture(scope="session")
def real_gateway(tmp_path_factory, mock_model):
    from clawster.secrets import resolve
    from layers.providers.base import GatewaySpec
    from layers.providers.local import LocalProvider

    provider = LocalProvider(tmp_path_factory.mktemp("contract-gateways"), base_port=31000)
    try:
        provider.create(GatewaySpec("contract", config=mock_model.provider_config()))
        provider.wait_ready("contract")
        endpoint = provider.endpoint("contract")
        yield GatewayUnderTest("real", endpoint.http_url, endpoint.ws_url, resolve(endpoint.token_ref), mock_model.reply,
                               openclaw_package=provider.runtime.entry.parent)
    finally:
        if "contract" in provider.bot_ids():
            provider.delete("contract")
        provider.close()


@pytest.fixture(params=["fake", REAL])
def gateway(request) -> GatewayUnderTest:
    return request.getfixturevalue(f"{request.param}_gateway")
