"""The Cloud Run adapter (layers/providers/cloudrun.py) through the official clients against the stand-in: the
service it asks for (what Cloud Run must be told for a gateway: one instance, CPU always on, secrets by reference,
the state volume, internal ingress), the secrets it keeps in Secret Manager, that it never waits on Cloud Run,
restarts and restores by request id, and Google's refusals as typed errors. The contract suite
(test_provider_contract.py) runs the shared cases; the expectations here are written by hand from Cloud Run's API
reference and the gateway image's contract (layers/providers/cloud/common.py's docstring)."""

from __future__ import annotations

import json
import re
import time

import pytest

from clawster.local.cloud.container_host import ContainerHost
from layers.providers import cloudrun
from layers.providers.base import GatewaySpec, GatewayState, GatewayUpdate
from layers.providers.cloud.common import BotSecrets
from layers.providers.errors import GatewayNotFound, InvalidSpec, ProviderFailed, Throttled
from tests.contract.target_cloudrun import serving
from tests.contract.test_cloudrun_standin import GatedLauncher

CLOUD_RUN_NAME = re.compile(r"^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$")  # Cloud Run: <= 49, lowercase, letter first
READY_S = 60.0
_bots = iter(range(1, 10_000))


@pytest.fixture
def launcher():
    return GatedLauncher()


@pytest.fixture
def cloud(stack, tmp_path, launcher):
    """(stand-in, provider); the session stack serves the control plane's Secrets Manager (moto)."""
    host = ContainerHost(tmp_path / "containers", launcher, supervise_interval_s=0.1)
    with serving(host, service_account="gateways@clawster-test.iam.gserviceaccount.com") as (standin, provider):
        yield standin, provider
    host.close()


def new_bot() -> str:
    return f"01JCR{next(_bots):04d}{int(time.time() * 1000) % 10**8:08d}"


def wait(provider, bot_id: str, state: GatewayState):
    deadline = time.monotonic() + READY_S
    while (seen := provider.describe(bot_id)).state is not state:
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)
    return seen


def stored_service(standin, bot_id: str) -> dict:
    """The service as Cloud Run holds it, read raw (REST JSON: camelCase, enums as integers)."""
    name = f"projects/clawster-test/locations/europe-west1/services/{cloudrun.service_id(bot_id)}"
    status, body = standin.handle("GET", f"/v2/{name}", {"Authorization": "Bearer t"}, b"")
    assert status == 200, body
    return body


def test_the_service_is_what_a_gateway_needs_on_cloud_run(cloud, launcher):
    standin, provider = cloud
    bot_id = new_bot()
    provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#123456"}}, size="medium"))
    service = stored_service(standin, bot_id)
    template = service["template"]
    (container,) = template["containers"]
    assert container["image"] == "clawster-gateway:2026.9.6"
    assert container["ports"] == [{"name": "http1", "containerPort": 18789}]
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4096Mi"}
    assert not container["resources"].get("cpuIdle")  # CPU always allocated
    assert service["scaling"] == {"scalingMode": 2, "manualInstanceCount": 1}  # MANUAL, one instance
    assert template["scaling"] == {"minInstanceCount": 1, "maxInstanceCount": 1}
    assert template["executionEnvironment"] == 2  # gen2
    assert service["ingress"] == 2  # INGRESS_TRAFFIC_INTERNAL_ONLY
    assert service["invokerIamDisabled"] is True
    assert template["serviceAccount"] == "gateways@clawster-test.iam.gserviceaccount.com"
    prefix = cloudrun.service_id(bot_id)
    assert {e["name"]: e["valueSource"]["secretKeyRef"] for e in container["env"]} == {
        "OPENCLAW_GATEWAY_TOKEN": {"secret": f"{prefix}-token", "version": "latest"},
        "CLAWSTER_GATEWAY_CONFIG": {"secret": f"{prefix}-config", "version": "latest"}}
    assert container["volumeMounts"] == [{"name": "state", "mountPath": "/var/lib/openclaw"}]
    assert template["volumes"] == [{"name": "state", "gcs": {"bucket": "clawster-test-state", "mountOptions": [
        f"only-dir=bots/{bot_id}", "uid=10001", "gid=10001", "file-mode=600", "dir-mode=700"]}}]
    token = provider.bot_secrets.value(provider.bot_secrets.token(bot_id))
    assert token not in json.dumps(service)  # by reference only
    launcher.gate.set()
    wait(provider, bot_id, GatewayState.RUNNING)
    _, _, env = launcher.launched[-1]
    assert env["OPENCLAW_GATEWAY_TOKEN"] == token  # what Cloud Run resolved from Secret Manager
    assert json.loads(env["CLAWSTER_GATEWAY_CONFIG"]) == {"ui": {"seamColor": "#123456"}}
    assert env["PORT"] == "18789"
    provider.delete(bot_id)


def test_create_does_not_wait_for_cloud_run_and_describe_follows_the_ready_condition(cloud, launcher):
    standin, provider = cloud
    bot_id = new_bot()
    first = provider.create(GatewaySpec(bot_id))
    assert first.state is GatewayState.STARTING  # the revision's container does not answer yet
    assert not any("/operations/" in path for _, path in standin.requests)  # the operation is left to run
    launcher.gate.set()
    running = wait(provider, bot_id, GatewayState.RUNNING)
    assert running.endpoint.http_url.startswith("http://127.0.0.1:")
    assert running.endpoint.ws_url == "ws" + running.endpoint.http_url[4:]
    assert running.endpoint.token_ref == BotSecrets.name(bot_id, "token")
    provider.delete(bot_id)


def test_restart_and_restore_make_one_revision_per_request(cloud, launcher):
    standin, provider = cloud
    launcher.gate.set()
    bot_id = new_bot()
    provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#000001"}}))
    wait(provider, bot_id, GatewayState.RUNNING)
    revisions = lambda: {env["K_REVISION"] for name, _, env in launcher.launched if bot_id.lower() in name}  # noqa: E731
    provider.restart(bot_id, request_id="exec-1/restart")
    provider.restart(bot_id, request_id="exec-1/restart")  # the retry: nothing more
    assert len(revisions()) == 2
    assert provider.backup(bot_id, "upgrade-1") == "upgrade-1"
    provider.update(bot_id, GatewayUpdate(openclaw_version="2026.9.5", config={"ui": {"seamColor": "#000002"}}))
    assert wait(provider, bot_id, GatewayState.RUNNING).openclaw_version == "2026.9.5"
    provider.restore(bot_id, "upgrade-1", request_id="exec-2/restore")
    provider.restore(bot_id, "upgrade-1", request_id="exec-2/restore")
    restored = wait(provider, bot_id, GatewayState.RUNNING)
    assert restored.openclaw_version == "2026.9.6" and len(revisions()) == 4
    _, version, env = launcher.launched[-1]
    assert version == "2026.9.6" and json.loads(env["CLAWSTER_GATEWAY_CONFIG"]) == {"ui": {"seamColor": "#000001"}}
    with pytest.raises(GatewayNotFound):
        provider.restore(bot_id, "no-such-backup")
    provider.delete(bot_id)


def test_stop_scales_to_zero_and_keeps_the_revision(cloud, launcher):
    standin, provider = cloud
    launcher.gate.set()
    bot_id = new_bot()
    provider.create(GatewaySpec(bot_id))
    wait(provider, bot_id, GatewayState.RUNNING)
    assert provider.stop(bot_id).state is GatewayState.STOPPED
    service = stored_service(standin, bot_id)
    assert service["scaling"] == {"scalingMode": 2, "manualInstanceCount": 0}
    assert service["latestCreatedRevision"].endswith("-00001-" + service["latestCreatedRevision"][-3:])
    assert standin.host.status(f"cloudrun.clawster-test.europe-west1.{cloudrun.service_id(bot_id)}").state == "STOPPED"
    provider.start(bot_id)
    wait(provider, bot_id, GatewayState.RUNNING)
    provider.delete(bot_id)


def test_a_revision_cloud_run_cannot_start_is_failed_with_its_reason(cloud, launcher):
    standin, provider = cloud
    launcher.gate.set()
    bot_id = new_bot()
    provider.create(GatewaySpec(bot_id))
    wait(provider, bot_id, GatewayState.RUNNING)
    provider.secrets.delete_secret(name=f"projects/clawster-test/secrets/{cloudrun.service_id(bot_id)}-token")
    provider.restart(bot_id, request_id="after-the-secret-went")
    failed = provider.describe(bot_id)
    assert failed.state is GatewayState.FAILED and "-token" in failed.detail
    assert failed.error().retryable  # START_FAILED: the workflow may try again
    provider.delete(bot_id)


@pytest.mark.parametrize(("code", "error", "retryable"), [
    (429, Throttled, True),  # RESOURCE_EXHAUSTED: a quota
    (400, InvalidSpec, False),  # INVALID_ARGUMENT
    (403, ProviderFailed, False),  # PERMISSION_DENIED: the control plane's role lacks a grant
])
def test_googles_refusals_are_typed(cloud, code, error, retryable):
    standin, provider = cloud
    standin.fail_next(code)
    with pytest.raises(error) as refused:
        provider.describe(new_bot())
    assert refused.value.retryable is retryable


def test_a_503_on_a_call_the_client_does_not_retry_is_throttled(cloud):
    standin, provider = cloud
    standin.fail_next(503)
    with pytest.raises(Throttled):
        provider.delete(new_bot())  # delete_service has no retry of its own


def test_an_invalid_service_names_the_fields_google_named(cloud):
    standin, provider = cloud
    bad = cloudrun.CloudRunProvider(provider.settings.model_copy(update={"bucket": "Not_A_Bucket"}))
    with pytest.raises(InvalidSpec) as refused:
        bad.create(GatewaySpec(new_bot()))
    assert "service.template.volumes[0].gcs.bucket" in [v["field"] for v in refused.value.details["violations"]]


def test_credentials_are_required_as_google_requires_them(cloud):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import run_v2

    standin, provider = cloud
    anonymous = run_v2.ServicesClient(transport="rest", credentials=AnonymousCredentials(),
                                      client_options=ClientOptions(api_endpoint=cloudrun.os.environ[cloudrun.ENDPOINT_ENV]))
    with pytest.raises(ProviderFailed):
        cloudrun.CloudRunProvider(provider.settings, services=anonymous).describe(new_bot())


def test_service_names_keep_cloud_runs_rules_and_stay_apart():
    assert cloudrun.service_id("01JCR00000000000000000000A") == "clawster-01jcr00000000000000000000a"  # a ULID
    assert cloudrun.service_id("ct-cloudrun-1") == "clawster-ct-cloudrun-1"
    others = ["Bot_1", "bot_1", "BOT-1", "bot-1", "x" * 80, "x" * 81, "UPPER.dots and spaces"]
    names = [cloudrun.service_id(bot_id) for bot_id in others]
    assert all(CLOUD_RUN_NAME.match(name) for name in names), names
    assert len(set(names)) == len(names), names


def test_configured_says_why_not(monkeypatch):
    monkeypatch.delenv(cloudrun.ENDPOINT_ENV, raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in cloudrun.configured()
    monkeypatch.setenv(cloudrun.ENDPOINT_ENV, "http://127.0.0.1:1")
    assert cloudrun.configured() is None


def test_a_config_changed_while_the_gateway_starts_reaches_it_by_a_new_revision(cloud, launcher):
    standin, provider = cloud
    bot_id = new_bot()
    provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#000001"}}))  # its instance read #000001
    provider.update(bot_id, GatewayUpdate(config={"ui": {"seamColor": "#000002"}}))
    provider.update(bot_id, GatewayUpdate(config={"ui": {"seamColor": "#000002"}}))  # a retry: nothing more
    launcher.gate.set()
    wait(provider, bot_id, GatewayState.RUNNING)
    launched = [env for name, _, env in launcher.launched if cloudrun.service_id(bot_id) in name]
    assert [json.loads(env["CLAWSTER_GATEWAY_CONFIG"])["ui"]["seamColor"] for env in launched] == ["#000001", "#000002"]
    provider.delete(bot_id)


@pytest.mark.slow
def test_a_real_gateway_runs_from_the_image_entrypoint_on_the_stand_in(stack, tmp_path):
    """The image's entrypoint with node 24 and openclaw (ContainerHost's own launcher), as Cloud Run would run it:
    the env it gets from the service (secrets resolved, PORT) is enough for it to serve our token and config."""
    host = ContainerHost(tmp_path / "containers")
    try:
        with serving(host) as (standin, provider):
            bot_id = new_bot()
            provider.create(GatewaySpec(bot_id, config={"ui": {"seamColor": "#0a0b0c"}}))
            deadline = time.monotonic() + 240
            while (seen := provider.describe(bot_id)).state is not GatewayState.RUNNING:
                assert time.monotonic() < deadline and seen.state is not GatewayState.FAILED, seen
                time.sleep(0.5)
            assert provider.live_config(bot_id).config["ui"]["seamColor"] == "#0a0b0c"
            provider.update(bot_id, GatewayUpdate(config={"ui": {"seamColor": "#0d0e0f"}}))  # live, no new revision
            assert provider.live_config(bot_id).config["ui"]["seamColor"] == "#0d0e0f"
            assert provider.logs(bot_id).lines
            provider.delete(bot_id)
    finally:
        host.close()


def test_delete_removes_the_volumes_folder_and_only_that_bots(cloud, launcher):
    standin, provider = cloud
    launcher.gate.set()
    gone, kept = new_bot(), new_bot()
    for bot_id in (gone, kept):
        provider.create(GatewaySpec(bot_id))
        wait(provider, bot_id, GatewayState.RUNNING)

    def objects(bot_id: str) -> list[str]:
        status, body = standin.handle("GET", f"/storage/v1/b/clawster-test-state/o?prefix=bots/{bot_id}/",
                                      {"Authorization": "Bearer t"}, b"")
        assert status == 200, body
        return [item["name"] for item in body.get("items", [])]

    assert f"bots/{gone}/state/openclaw.json" in objects(gone)  # the file the gateway keeps on its volume
    provider.delete(gone)
    assert objects(gone) == [] and f"bots/{kept}/state/openclaw.json" in objects(kept)
    with pytest.raises(GatewayNotFound):
        provider.describe(gone)
    provider.delete(gone)  # again: nothing left, nothing refused
    provider.delete(kept)
