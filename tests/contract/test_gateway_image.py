"""The gateway image's entrypoint (deploy/gateway/entrypoint.mjs) on node 24 and real openclaw, run as the cloud
targets' stand-ins run it (ContainerHost's default launcher): the token and the bot's config come from the
environment (a secret store injects them), the config is seeded into the state volume, a restart keeps what the
gateway changed since unless the control plane's desired config changed, and no token is a config error (78)."""

from __future__ import annotations

import json
import time

import pytest

from clawster.gateway import AdminRpcTransport, GatewayClient
from clawster.gateway.errors import AuthenticationFailed
from clawster.local.cloud.container_host import ContainerHost

pytestmark = pytest.mark.slow
IMAGE = "clawster-gateway:2026.9.6"
CEILING_S = 300.0  # 7-14 s idle; much longer on a busy machine


def wait(host: ContainerHost, name: str, done, what: str):
    deadline = time.monotonic() + CEILING_S
    status = None
    while time.monotonic() < deadline:
        status = host.status(name)
        if done(status):
            return status
        time.sleep(0.3)
    pytest.fail(f"{name} never {what}: {status}; log: {host.logs(name)[-20:]}")


@pytest.fixture
def host(tmp_path):
    running = ContainerHost(tmp_path / "containers")
    yield running
    running.close()


def env(config: dict, token: str = "image-token-1") -> dict[str, str]:
    return {"OPENCLAW_GATEWAY_TOKEN": token, "CLAWSTER_GATEWAY_CONFIG": json.dumps(config)}


def client(status, token: str = "image-token-1") -> GatewayClient:
    return GatewayClient(AdminRpcTransport(f"http://{status.host}:{status.port}", token))


def test_the_entrypoint_seeds_the_config_keeps_live_changes_and_reseeds_a_changed_desired_config(host):
    desired = {"ui": {"seamColor": "#0a0b0c"}}
    host.run("gw", IMAGE, env(desired))
    status = wait(host, "gw", lambda s: s.state == "RUNNING" and s.healthy, "served")
    with client(status) as gateway:
        snapshot = gateway.config_get()
        assert snapshot.source["ui"]["seamColor"] == "#0a0b0c"
        assert snapshot.source["plugins"]["entries"]["admin-http-rpc"]["enabled"] is True  # what the image owns
        assert snapshot.source["gateway"]["auth"]["mode"] == "token"
        gateway.update_config({"ui": {"seamColor": "#ffeedd"}})  # the gateway's own change (an agent's, an operator's)
    with pytest.raises(AuthenticationFailed):  # another token is refused: the one from the environment is the gateway's
        client(status, "wrong-token").config_get()

    # A restart with the same desired config keeps the gateway's change (drift is the control plane's call).
    host.stop("gw")
    host.run("gw", IMAGE, env(desired))
    status = wait(host, "gw", lambda s: s.state == "RUNNING" and s.healthy, "served again")
    with client(status) as gateway:
        assert gateway.config_get().source["ui"]["seamColor"] == "#ffeedd"

    # A new desired config (the provider changed it while the gateway was down) is seeded over it.
    host.run("gw", IMAGE, env({"ui": {"seamColor": "#123456"}}))
    status = wait(host, "gw", lambda s: s.state == "RUNNING" and s.healthy, "served the new config")
    with client(status) as gateway:
        assert gateway.config_get().source["ui"]["seamColor"] == "#123456"


def test_no_token_is_a_config_error_and_an_unknown_version_fails_like_a_pull(host):
    host.run("no-token", IMAGE, {"CLAWSTER_GATEWAY_CONFIG": "{}"})
    ended = wait(host, "no-token", lambda s: s.state == "EXITED", "exited")
    assert ended.exit_code == 78
    assert any("OPENCLAW_GATEWAY_TOKEN is not set" in line for line in host.logs("no-token"))
    host.run("bad-json", IMAGE, {"OPENCLAW_GATEWAY_TOKEN": "t", "CLAWSTER_GATEWAY_CONFIG": "{not json"})
    assert wait(host, "bad-json", lambda s: s.state == "EXITED", "exited").exit_code == 78
    host.run("old", "clawster-gateway:1999.1.1", env({}))
    pulled = host.status("old")
    assert pulled.state == "EXITED" and "CannotPullContainerError" in pulled.detail
