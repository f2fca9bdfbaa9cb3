"""The ECS provider against moto (in this process) and the ECS agent stand-in, its containers FakeGateways: every
method of the provider contract, its errors, and the resources it leaves in AWS (read back from moto)."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from clawster.local.cloud import moto_ecs
from clawster.local.cloud.container_host import ContainerHost
from layers.providers.base import GatewaySpec, GatewayState, GatewayUpdate
from layers.providers.errors import (
    ConfigRejected,
    GatewayExists,
    GatewayNotFound,
    InvalidSpec,
    StartFailed,
    Throttled,
    UnsupportedChange,
)
from tests.contract.target_ecs import ecs_world
from tests.fakes.container_launcher import FakeLauncher

CEILING_S = 60
_bots = itertools.count()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    launcher = FakeLauncher()
    host = ContainerHost(tmp_path_factory.mktemp("ecs-host"), launcher, supervise_interval_s=0.1)
    with ecs_world(tmp_path_factory.mktemp("ecs"), host) as running:
        running.launcher = launcher
        running.host = host
        yield running
    host.close()


@pytest.fixture(autouse=True)
def _no_faults_left():
    yield
    moto_ecs.clear_faults()


def new_bot() -> str:
    return f"B{next(_bots):03d}{int(time.time() * 1000) % 100000}"


def until(what, check, ceiling_s: float = CEILING_S):
    """Poll `check()` until it returns something truthy; fail after the ceiling, saying what was awaited."""
    deadline, last = time.monotonic() + ceiling_s, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}; last: {last!r}")


def running(world, bot_id: str):
    return until(f"{bot_id} RUNNING", lambda: (s := world.provider.describe(bot_id)).state is GatewayState.RUNNING and s)


def tasks(world, bot_id: str, desired: str = "RUNNING") -> list[dict]:
    ecs = world.client("ecs")
    arns = ecs.list_tasks(cluster=world.settings.cluster, serviceName=f"clawster-gw-{bot_id}", desiredStatus=desired)["taskArns"]
    return ecs.describe_tasks(cluster=world.settings.cluster, tasks=arns)["tasks"] if arns else []


def service(world, bot_id: str) -> dict:
    return world.client("ecs").describe_services(cluster=world.settings.cluster, services=[f"clawster-gw-{bot_id}"],
                                                 include=["TAGS"])["services"][0]


def test_create_runs_a_gateway_with_its_config_reachable_through_the_endpoint(world):
    # Given a spec with a config of its own
    bot = new_bot()
    # When it is created
    first = world.provider.create(GatewaySpec(bot, {"ui": {"seamColor": "#123456"}}))
    # Then create returned at once, not RUNNING yet, and the gateway comes up on its published port
    assert first.state is GatewayState.STARTING
    status = running(world, bot)
    assert status.endpoint.http_url.startswith("http://127.0.0.1:")
    assert status.endpoint.token_ref == f"clawster/gateways/{bot}/token"
    assert world.provider.endpoint(bot) == status.endpoint
    assert world.provider.live_config(bot).config["ui"] == {"seamColor": "#123456"}
    assert world.provider.logs(bot).lines is not None
    # and the container got its token and config from Secrets Manager, as the ECS agent injects them
    sm = world.client("secretsmanager")
    token = sm.get_secret_value(SecretId=f"clawster/gateways/{bot}/token")["SecretString"]
    env = [e for name, _, e in world.launcher.launched if bot in name][-1]
    assert env["OPENCLAW_GATEWAY_TOKEN"] == token
    assert json.loads(env["CLAWSTER_GATEWAY_CONFIG"]) == {"ui": {"seamColor": "#123456"}}


def test_create_again_is_idempotent_and_another_spec_is_refused(world):
    # Given a created gateway
    bot = new_bot()
    spec = GatewaySpec(bot, {"ui": {"seamColor": "#654321"}})
    world.provider.create(spec)
    # When the same create is repeated (a retry after a timeout)
    world.provider.create(spec)
    # Then nothing more was made: one service, one task definition revision
    ecs = world.client("ecs")
    assert ecs.list_task_definitions(familyPrefix=f"clawster-gw-{bot}")["taskDefinitionArns"] == [
        f"arn:aws:ecs:us-east-1:123456789012:task-definition/clawster-gw-{bot}:1"]
    running(world, bot)
    assert len(tasks(world, bot)) == 1
    # and another spec for the same bot is GatewayExists (permanent)
    with pytest.raises(GatewayExists):
        world.provider.create(GatewaySpec(bot, {"ui": {"seamColor": "#000000"}}))
    with pytest.raises(GatewayExists):
        world.provider.create(GatewaySpec(bot, spec.config, size="medium"))


def test_a_bot_without_a_gateway_is_not_found_and_its_delete_succeeds(world):
    # Given a bot id nothing was created for
    bot = new_bot()
    # Then every call but delete is GatewayNotFound, and delete does nothing and succeeds
    for call in (lambda: world.provider.describe(bot), lambda: world.provider.start(bot), lambda: world.provider.stop(bot),
                 lambda: world.provider.restart(bot, request_id="r"), lambda: world.provider.endpoint(bot),
                 lambda: world.provider.update(bot, GatewayUpdate(config={})), lambda: world.provider.backup(bot, "k"),
                 lambda: world.provider.restore(bot, "k"), lambda: world.provider.live_config(bot),
                 lambda: world.provider.logs(bot)):
        with pytest.raises(GatewayNotFound):
            call()
    world.provider.delete(bot)


def test_stop_and_start_keep_the_state_on_the_volume(world):
    # Given a running gateway whose state dir got a file
    bot = new_bot()
    world.provider.create(GatewaySpec(bot, {}))
    running(world, bot)
    volume = next(p for p in world.host.root.iterdir() if p.name.endswith(f"bots_{bot}"))
    (volume / "state" / "memory.txt").write_text("kept")
    # When it is stopped
    stopped = world.provider.stop(bot)
    # Then it is STOPPED, no task runs, and stopping again changes nothing
    assert stopped.state is GatewayState.STOPPED
    until("its task stopped", lambda: not tasks(world, bot))
    assert service(world, bot)["desiredCount"] == 0
    assert world.provider.stop(bot).state is GatewayState.STOPPED
    # When it is started again: a new task on the same volume
    world.provider.start(bot)
    status = running(world, bot)
    assert (volume / "state" / "memory.txt").read_text() == "kept"
    # and start on a running gateway changes nothing
    assert world.provider.start(bot).endpoint == status.endpoint


def test_restart_replaces_the_task_once_per_request_id(world):
    bot = new_bot()
    world.provider.create(GatewaySpec(bot, {}))
    running(world, bot)
    before = tasks(world, bot)[0]["taskArn"]
    # When it is restarted with a request id
    world.provider.restart(bot, request_id="exec-1/restart")
    # Then another task replaces the first (stopped first: never two at once) and serves
    until("a new task", lambda: [t for t in tasks(world, bot) if t["taskArn"] != before])
    running(world, bot)
    stopped = {t["taskArn"]: t for t in tasks(world, bot, "STOPPED")}
    assert stopped[before]["stopCode"] == "ServiceSchedulerInitiated"
    after = tasks(world, bot)[0]["taskArn"]
    # and the same request id again changes nothing
    world.provider.restart(bot, request_id="exec-1/restart")
    assert tasks(world, bot)[0]["taskArn"] == after
    assert service(world, bot)["deployments"][0]["id"] == tasks(world, bot)[0]["startedBy"]


def test_update_config_is_applied_live_and_kept_for_the_next_task(world):
    bot = new_bot()
    world.provider.create(GatewaySpec(bot, {"ui": {"seamColor": "#111111"}}))
    running(world, bot)
    task = tasks(world, bot)[0]["taskArn"]
    # When the config changes
    world.provider.update(bot, GatewayUpdate(config={"ui": {"seamColor": "#222222"}}))
    # Then the running gateway has it (no new task), and the stored config a relaunch starts from too
    assert world.provider.live_config(bot).config["ui"] == {"seamColor": "#222222"}
    assert tasks(world, bot)[0]["taskArn"] == task
    stored = world.client("secretsmanager").get_secret_value(SecretId=f"clawster/gateways/{bot}/config")["SecretString"]
    assert json.loads(stored) == {"ui": {"seamColor": "#222222"}}
    # When openclaw refuses a config: ConfigRejected naming the path, and nothing changed
    with pytest.raises(ConfigRejected) as refused:
        world.provider.update(bot, GatewayUpdate(config={"ui": {"seamColor": "not a colour"}}))
    assert [i["path"] for i in refused.value.issues] == ["ui.seamColor"]
    stored = world.client("secretsmanager").get_secret_value(SecretId=f"clawster/gateways/{bot}/config")["SecretString"]
    assert json.loads(stored) == {"ui": {"seamColor": "#222222"}}


def test_update_version_and_size_make_a_new_revision_once(world):
    bot = new_bot()
    world.provider.create(GatewaySpec(bot, {}))
    running(world, bot)
    ecs = world.client("ecs")
    # When the version and the size change
    status = world.provider.update(bot, GatewayUpdate(openclaw_version="2026.9.5", size="medium"))
    # Then a second revision runs the 2026.9.5 image with 1 vCPU / 4 GB
    assert status.openclaw_version == "2026.9.5"
    definition = ecs.describe_task_definition(taskDefinition=f"clawster-gw-{bot}")["taskDefinition"]
    assert (definition["revision"], definition["cpu"], definition["memory"]) == (2, "2048", "4096")
    assert definition["containerDefinitions"][0]["image"] == "clawster-gateway:2026.9.5"
    until("a task of revision 2 serving", lambda: [t for t in tasks(world, bot) if t["taskDefinitionArn"].endswith(":2")
                                                   and t.get("healthStatus") == "HEALTHY"])
    assert [v for name, v, _ in world.launcher.launched if bot in name][-1] == "2026.9.5"
    # and the same change again registers nothing
    world.provider.update(bot, GatewayUpdate(openclaw_version="2026.9.5", size="medium"))
    assert len(ecs.list_task_definitions(familyPrefix=f"clawster-gw-{bot}")["taskDefinitionArns"]) == 2
    # A version or size the target does not offer: UnsupportedChange, nothing changed
    for change in (GatewayUpdate(openclaw_version="2001.1.1"), GatewayUpdate(size="huge")):
        with pytest.raises(UnsupportedChange):
            world.provider.update(bot, change)
    assert len(ecs.list_task_definitions(familyPrefix=f"clawster-gw-{bot}")["taskDefinitionArns"]) == 2


def test_backup_and_restore_bring_back_the_version_and_config(world):
    bot = new_bot()
    world.provider.create(GatewaySpec(bot, {"ui": {"seamColor": "#aaaaaa"}}))
    running(world, bot)
    # Given a backup, then an upgrade with another config
    assert world.provider.backup(bot, "exec-7") == "exec-7"
    world.provider.update(bot, GatewayUpdate(openclaw_version="2026.9.5", config={"ui": {"seamColor": "#bbbbbb"}}))
    # When the backup is restored
    restored = world.provider.restore(bot, "exec-7", request_id="exec-7/restore")
    # Then the old version runs with the old config
    assert restored.openclaw_version == "2026.9.6"
    until("the restored config served", lambda: running(world, bot) and
          world.provider.live_config(bot).config.get("ui") == {"seamColor": "#aaaaaa"})
    deployment = service(world, bot)["deployments"][0]["id"]
    # and the same restore again changes nothing; an unknown backup is GatewayNotFound
    world.provider.restore(bot, "exec-7", request_id="exec-7/restore")
    assert service(world, bot)["deployments"][0]["id"] == deployment
    with pytest.raises(GatewayNotFound):
        world.provider.restore(bot, "never-taken")


def test_delete_removes_every_resource_of_the_bot_and_can_be_repeated(world):
    bot = new_bot()
    world.provider.create(GatewaySpec(bot, {}))
    running(world, bot)
    world.provider.backup(bot, "before-delete")
    # When it is deleted
    world.provider.delete(bot)
    # Then the gateway is gone, and so is everything made for it
    with pytest.raises(GatewayNotFound):
        world.provider.describe(bot)
    until("its task stopped", lambda: not tasks(world, bot))
    ecs, iam = world.client("ecs"), world.client("iam")
    assert ecs.list_task_definitions(familyPrefix=f"clawster-gw-{bot}", status="ACTIVE")["taskDefinitionArns"] == []
    points = world.client("efs").describe_access_points(FileSystemId=world.settings.file_system_id)["AccessPoints"]
    assert not [p for p in points if {"Key": "clawster:bot", "Value": bot} in p.get("Tags", [])]
    assert f"clawster-gw-{bot}" not in [r["RoleName"] for r in iam.list_roles(PathPrefix="/clawster/gateways/")["Roles"]]
    assert world.client("logs").describe_log_groups(logGroupNamePrefix=f"/clawster/gateways/{bot}")["logGroups"] == []
    names = [s["Name"] for s in world.client("secretsmanager").list_secrets()["SecretList"]]
    assert not [n for n in names if n.startswith(f"clawster/gateways/{bot}/")]
    # and deleting again succeeds
    world.provider.delete(bot)


def test_throttling_and_quota_answers_are_retryable(world):
    bot = new_bot()
    # Given ECS answering throttling on every attempt the SDK makes
    moto_ecs.inject_fault("CreateService", "ThrottlingException", "Rate exceeded", times=3)
    with pytest.raises(Throttled):
        world.provider.create(GatewaySpec(bot, {}))
    # When ECS answers again, the retried create finishes what the first began
    world.provider.create(GatewaySpec(bot, {}))
    running(world, bot)
    # A quota answer is retryable too
    moto_ecs.inject_fault("UpdateService", "LimitExceededException", "Too many deployments", times=3)
    with pytest.raises(Throttled):
        world.provider.restart(bot, request_id="quota")


def test_what_aws_refuses_as_invalid_is_a_permanent_invalid_spec(world):
    from layers.providers.ecs import EcsProvider

    bot = new_bot()
    # A bot id no AWS name can hold
    with pytest.raises(InvalidSpec):
        world.provider.create(GatewaySpec("bad id/" + bot, {}))
    # Settings naming a subnet that does not exist: ECS refuses the service
    wrong = world.settings.model_copy(update={"subnets": ["subnet-0123456789abcdef0"]})
    provider = EcsProvider(wrong, ecs=world.client("ecs"), efs=world.client("efs"), iam=world.client("iam"),
                           logs=world.client("logs"), secretsmanager=world.client("secretsmanager"))
    with pytest.raises(InvalidSpec):
        provider.create(GatewaySpec(bot, {}))
    # A cluster that does not exist: permanent, naming the setting
    missing = EcsProvider(world.settings.model_copy(update={"cluster": "no-such-cluster"}), ecs=world.client("ecs"),
                          efs=world.client("efs"), iam=world.client("iam"), logs=world.client("logs"),
                          secretsmanager=world.client("secretsmanager"))
    with pytest.raises(InvalidSpec) as refused:
        missing.describe(bot)
    assert refused.value.details["field"] == "cluster"


def test_an_image_that_cannot_be_pulled_fails_and_trips_the_circuit_breaker(tmp_path):
    # Given a host that has no 2026.9.5 image to pull
    host = ContainerHost(tmp_path / "host", FakeLauncher({"2026.9.6"}), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host) as world:
        bot = new_bot()
        world.provider.create(GatewaySpec(bot, {}))
        running(world, bot)
        # When the gateway is upgraded to it
        world.provider.update(bot, GatewayUpdate(openclaw_version="2026.9.5"))
        # Then it is FAILED with ECS's reason, a retryable StartFailed
        failed = until("FAILED", lambda: (s := world.provider.describe(bot)).state is GatewayState.FAILED and s)
        assert "CannotPullContainerError" in failed.detail
        assert isinstance(failed.error(), StartFailed)
        # and after three failed tasks the deployment's circuit breaker stops launching
        until("the breaker", lambda: service(world, bot)["deployments"][0].get("rolloutState") == "FAILED")
        assert "circuit breaker" in world.provider.describe(bot).detail
        # When it is set back to a version that exists, it runs again
        world.provider.update(bot, GatewayUpdate(openclaw_version="2026.9.6"))
        assert running(world, bot).openclaw_version == "2026.9.6"
    host.close()


def _provider(world, **settings):
    from layers.providers.ecs import EcsProvider

    return EcsProvider(world.settings.model_copy(update=settings), ecs=world.client("ecs"), efs=world.client("efs"),
                       iam=world.client("iam"), logs=world.client("logs"), secretsmanager=world.client("secretsmanager"))


def test_the_bots_size_comes_from_its_target_settings(world):
    # Given target settings naming the medium size, and a spec that names none (the default)
    bot = new_bot()
    _provider(world, size="medium").create(GatewaySpec(bot, {}))
    # Then its task has medium's 2 vCPU and 4 GB
    definition = world.client("ecs").describe_task_definition(taskDefinition=f"clawster-gw-{bot}")["taskDefinition"]
    assert (definition["cpu"], definition["memory"]) == ("2048", "4096")


def test_delete_wipes_the_state_where_the_function_mounts_it_once_the_task_stopped(tmp_path):
    from layers.providers.errors import ProviderBusy

    # Given a deployment whose deprovisioning function mounts the file system's /bots, and an agent run by hand
    mount = tmp_path / "efs-bots"
    host = ContainerHost(tmp_path / "host", FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host, interval_s=3600) as world:
        from clawster.local.cloud.ecs_agent import EcsAgent

        agent = EcsAgent(host, clusters={world.settings.cluster}, interval_s=3600)
        provider = _provider(world, state_mount=str(mount))
        bot = new_bot()
        provider.create(GatewaySpec(bot, {}))
        until("RUNNING", lambda: agent.reconcile_once() or provider.describe(bot).state is GatewayState.RUNNING)
        (mount / bot / "state").mkdir(parents=True)
        (mount / bot / "state" / "sessions.db").write_text("private")
        # When it is deleted while its task still runs: retryable, and the state is not touched yet
        with pytest.raises(ProviderBusy):
            provider.delete(bot)
        assert (mount / bot / "state" / "sessions.db").exists()
        # Then once the task stopped, the retried delete wipes the bot's directory, and only it
        (mount / "another-bot").mkdir()
        agent.reconcile_once()
        provider.delete(bot)
        assert sorted(p.name for p in mount.iterdir()) == ["another-bot"]
        provider.delete(bot)
        agent.close()
    host.close()


def test_during_a_deployment_the_previous_task_is_not_reported_as_the_gateway(tmp_path):
    # Given a running gateway and an agent run by hand, so the moment between the change and ECS acting is seen
    host = ContainerHost(tmp_path / "host", FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host, interval_s=3600) as world:
        from clawster.local.cloud.ecs_agent import EcsAgent

        agent = EcsAgent(host, clusters={world.settings.cluster}, interval_s=3600)
        bot = new_bot()
        world.provider.create(GatewaySpec(bot, {}))
        until("RUNNING", lambda: agent.reconcile_once() or world.provider.describe(bot).state is GatewayState.RUNNING)
        # When the version changes (a new revision) or a restart is asked, before ECS replaced the task
        for change in (lambda: world.provider.update(bot, GatewayUpdate(openclaw_version="2026.9.5")),
                       lambda: world.provider.restart(bot, request_id="r-1")):
            status = change()
            # Then the old task, still serving, is not the gateway: STARTING, with no endpoint to the old one
            assert status.state is GatewayState.STARTING and status.endpoint is None, status
            assert "previous deployment" in status.detail
            until("RUNNING again", lambda: agent.reconcile_once() or world.provider.describe(bot).state is GatewayState.RUNNING)
        assert world.provider.describe(bot).openclaw_version == "2026.9.5"
        agent.close()
    host.close()


@pytest.mark.parametrize(("code", "failure", "error"),
                         [(1, "START_FAILED", StartFailed), (78, "CONFIG_REJECTED", ConfigRejected)])
def test_a_gateway_that_exits_is_failed_with_its_exit_code_then_replaced(tmp_path, code, failure, error):
    host = ContainerHost(tmp_path / "host", FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host, interval_s=3600) as world:
        from clawster.local.cloud.ecs_agent import EcsAgent

        agent = EcsAgent(host, clusters={world.settings.cluster}, interval_s=3600)
        bot = new_bot()
        world.provider.create(GatewaySpec(bot, {}))
        until("RUNNING", lambda: agent.reconcile_once() or world.provider.describe(bot).state is GatewayState.RUNNING)
        # When the gateway's process ends by itself (the container's one essential process)
        [name] = host.names()
        host._containers[name].run.crash(code)  # the fake's own hook: its process exits with `code`
        agent.reconcile_once()
        # Then the task stopped as ECS stops it, and describe says why, with the exit code
        status = world.provider.describe(bot)
        assert (status.state, status.failure.value, status.exit_code) == (GatewayState.FAILED, failure, code), status
        assert "Essential container in task exited" in status.detail
        assert isinstance(status.error(), error)
        [stopped] = tasks(world, bot, "STOPPED")
        assert stopped["stopCode"] == "EssentialContainerExited"
        # and the service starts another task after a backoff, which serves
        until("RUNNING again", lambda: agent.reconcile_once() or world.provider.describe(bot).state is GatewayState.RUNNING)
        agent.close()
    host.close()


def test_a_deleted_gateway_is_gone_at_once_and_its_bot_is_created_again_once_the_service_drained(tmp_path):
    from layers.providers.errors import ProviderBusy

    host = ContainerHost(tmp_path / "host", FakeLauncher(), supervise_interval_s=0.1)
    with ecs_world(tmp_path, host, interval_s=3600) as world:
        from clawster.local.cloud.ecs_agent import EcsAgent

        agent = EcsAgent(host, clusters={world.settings.cluster}, interval_s=3600)
        bot = new_bot()
        world.provider.create(GatewaySpec(bot, {}))
        until("RUNNING", lambda: agent.reconcile_once() or world.provider.describe(bot).state is GatewayState.RUNNING)
        # When it is deleted, its task still stopping: the service is DRAINING, the gateway already not found
        world.provider.delete(bot)
        assert service(world, bot)["status"] == "DRAINING"
        with pytest.raises(GatewayNotFound):
            world.provider.describe(bot)
        # and creating the bot again now is retryable, not a second gateway beside the draining one
        with pytest.raises(ProviderBusy):
            world.provider.create(GatewaySpec(bot, {}))
        # Once ECS stopped the task, the service is INACTIVE and the create goes through
        agent.reconcile_once()
        agent.reconcile_once()
        assert service(world, bot)["status"] == "INACTIVE"
        world.provider.create(GatewaySpec(bot, {}))
        until("RUNNING", lambda: agent.reconcile_once() or world.provider.describe(bot).state is GatewayState.RUNNING)
        agent.close()
    host.close()
