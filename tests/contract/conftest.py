"""The gateways the contract suite runs against: the fake (fast) and a real openclaw 2026.9.6.

The real one is started by the local provider with the mock model configured, once per test
process. `make test` distributes by file (--dist loadfile), so this module's real gateway and the
provider module's (at most two) run on different workers: never more than three gateways at once
(each takes 1-1.5 GB).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from clawster.gateway import AdminRpcTransport, GatewayClient, WebSocketTransport
from clawster.local.fake_gateway import FakeGateway
from clawster.local.mock_model import MockModel

REAL = pytest.param("real", marks=pytest.mark.slow)


@dataclass
class GatewayUnderTest:
    kind: str
    http_url: str
    ws_url: str
    token: str
    expected_reply: str

    def http(self, token: str | None = None) -> GatewayClient:
        return GatewayClient(AdminRpcTransport(self.http_url, token or self.token))

    def ws_transport(self, **kwargs) -> WebSocketTransport:
        kwargs.setdefault("token", self.token)
        return WebSocketTransport(self.ws_url, **kwargs)

    def ws(self, **kwargs) -> GatewayClient:
        return GatewayClient(self.ws_transport(**kwargs))


@pytest.fixture(scope="session")
def mock_model():
    with MockModel() as model:
        yield model


@pytest.fixture(scope="session")
def fake_gateway():
    with FakeGateway("fake-token") as fake:
        yield GatewayUnderTest("fake", fake.http_url, fake.ws_url, fake.token, fake.reply)


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
        yield GatewayUnderTest("real", endpoint.http_url, endpoint.ws_url, resolve(endpoint.token_ref), mock_model.reply)
    finally:
        if "contract" in provider.bot_ids():
            provider.delete("contract")
        provider.close()


@pytest.fixture(params=["fake", REAL])
def gateway(request) -> GatewayUnderTest:
    return request.getfixturevalue(f"{request.param}_gateway")
