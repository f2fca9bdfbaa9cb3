"""The task Lambda of the bot workflows (statemachines/*.asl.json): one step per invocation, named by
the state machine in `step`. Each step takes the workflow state and returns it with its additions.

Providers only start work and describe it; the state machine waits (Wait + a check_* step with the
deadline set by `begin`). Errors leave as Step Functions error names (functions/errors.py): retryable
ones are retried by the ASL with backoff, permanent ones go to `record_failure`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError
from pynamodb.exceptions import PynamoDBConnectionError

from clawster.domain import bots as machine
from clawster.domain.secret_refs import CONFIG_KEY, SecretRef, check_workspace
from clawster.errors import ClawsterError, PermanentError, Unavailable
from clawster.services import workflow
from clawster.services.workflow import DeadlineExceeded
from clawster.store.entities import Revision
from functions.errors import task_failure
from layers.providers.base import GatewaySpec, GatewayState, GatewayStatus, GatewayUpdate
from layers.providers.errors import CrashLooping, GatewayNotFound
from layers.providers.registry import provider_for

POLL_S = 1  # between describes (a Wait state: whole seconds). A gateway takes 7-14 s to start locally, 30-90 s on Fargate
STARTS = {machine.Workflow.START.value, machine.Workflow.RESUME.value, machine.Workflow.RESTART.value}
READY_DEADLINE_S = 900  # from `begin` to healthy: generous, a busy machine starts gateways slowly
STOP_DEADLINE_S = 300
CRASH_LOOP_RESTARTS = 3  # restarts by the provider's supervisor during one wait, none serving: it will not start

Step = Callable[[dict[str, Any], str], dict[str, Any]]
STEPS: dict[str, Step] = {}


def step(function: Step) -> Step:
    STEPS[function.__name__] = function
    return function


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = STEPS.get(event.get("step", ""))
    if run is None:
        raise task_failure(_unknown_step(event.get("step")))
    try:
        return run(dict(event["state"]), event["execution"])
    except ClawsterError as error:
        raise task_failure(error) from error
    except (PynamoDBConnectionError, BotoCoreError) as error:  # the table or an AWS API did not answer: try again
        raise task_failure(Unavailable(f"{type(error).__name__}: {error}")) from error


def _unknown_step(name: Any) -> ClawsterError:
    return PermanentError(f"unknown workflow step {name!r}", {"known": sorted(STEPS)})


# -- shared ------------------------------------------------------------------------------------------
@step
def begin(state: dict[str, Any], execution: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        bot = workflow.owned(state)
        # A gateway started again on a config older than the desired one (changed while it was stopped or
        # paused): the lifecycle workflow applies the desired revision once it serves.
        pending = state["action"] in STARTS and bot.applied_revision_id not in (None, bot.desired_revision_id)
        return {"deadline_at": time.time() + state.get("ready_deadline_s", READY_DEADLINE_S),
                "desired_revision_id": bot.desired_revision_id, "poll_s": state.get("poll_s", POLL_S),
                "pending_apply": pending}

    return state | workflow.run_once(state, execution, "begin", work)


@step
def check_ready(state: dict[str, Any], execution: str) -> dict[str, Any]:
    waiting = state.get("waiting_step", "ready")  # a rollback's wait is a step of its own
    status = _provider(state).describe(state["bot_id"])
    if status.state is not GatewayState.RUNNING:
        # Recorded first: a failure's Catch then ends this step FAILED with the reason (fail_open_steps).
        workflow.progress(state, execution, waiting, f"{status.state.value} {status.detail}".strip())
        # The restart count at this wait's first look: a supervised gateway that exits at once is FAILED only
        # between relaunches, so the FAILED looks alone may never add up to a failure.
        restarts_at = state.get("restarts_at", {})
        first = restarts_at.get(waiting, status.restarts)
        failure = crash_loop(status, first) or status.error()
        if failure is not None:
            raise failure
        _past_deadline(state, f"the gateway is still {status.state.value}")
        return state | {"gateway_state": status.state.value, "restarts_at": restarts_at | {waiting: first}}
    workflow.finish_step(state, execution, waiting, "ready")  # first: a gateway ready at the first look too
    # Verified once, on the config it keeps: after the pending apply, when there is one.
    verify = waiting == "ready" and not state.get("pending_apply")
    verified = workflow.run_once(state, execution, "verify", lambda: _verify(state)) if verify else {}
    return state | verified | {"gateway_state": status.state.value, "openclaw_version": status.openclaw_version}


def crash_loop(status: GatewayStatus, restarts_at_first_look: int) -> CrashLooping | None:
    """A gateway restarted CRASH_LOOP_RESTARTS times since the wait began, and not serving, will not start."""
    restarted = status.restarts - restarts_at_first_look
    if restarted < CRASH_LOOP_RESTARTS:
        return None
    seen = " ".join(filter(None, (status.state.value, status.detail)))
    return CrashLooping(f"gateway of bot {status.bot_id} kept exiting: restarted {restarted} times without serving "
                        f"({seen})", {"restarts": restarted, "exit_code": status.exit_code})


def _verify(state: dict[str, Any]) -> dict[str, Any]:
    """Ask the gateway itself: healthy, and which config it runs (its own hash, kept on the bot). Part of
    the ready check, not a state of its own: one task invocation less between ready and RUNNING."""
    from clawster.gateway.client import GatewayClient
    from clawster.gateway.http_rpc import AdminRpcTransport
    from clawster.secrets import resolve

    endpoint = _provider(state).endpoint(state["bot_id"])
    client = GatewayClient(AdminRpcTransport(endpoint.http_url, resolve(endpoint.token_ref)))
    client.health()
    return {"applied_config_hash": client.config_get().hash}


@step
def finish(state: dict[str, Any], execution: str) -> dict[str, Any]:
    action = machine.Workflow(state["action"])
    if action is machine.Workflow.DELETE:
        workflow.remove(state)
        workflow.finish_step(state, execution, "finish", "removed")
        return state
    fields: dict[str, Any] = {}
    if action in (machine.Workflow.PROVISION, machine.Workflow.UPGRADE) or "applied_config_hash" in state:
        fields = {"applied_revision_id": state["desired_revision_id"],
                  "applied_config_hash": state.get("applied_config_hash")}
    if "openclaw_version" in state:
        fields["openclaw_version"] = state["openclaw_version"]
    # The step first, as on failure: whoever sees the bot's new status finds every step of its workflow.
    workflow.finish_step(state, execution, "finish", machine.outcome(action).value)
    workflow.settle(state, machine.outcome(action), fields=fields)
    return state


@step
def record_failure(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """The bot ends in ERROR with the reason; its last good revision stays the applied one. A failed
    provision removes the half-created gateway (a retry of provision starts clean)."""
    reason = _reason(state.get("error") or {})
    if state["action"] == machine.Workflow.PROVISION.value:
        try:
            _provider(state).delete(state["bot_id"])
        except ClawsterError as error:
            reason += f" (and removing the half-created gateway failed: {error.message})"
    # The steps first: a client following the bot has the whole story when it sees the status change.
    workflow.fail_open_steps(state, execution, reason)
    workflow.finish_step(state, execution, "failed", reason)
    try:
        workflow.settle(state, machine.BotStatus.ERROR, reason=reason)
    except workflow.Superseded:
        pass  # the bot was swept or settled already: nothing of ours to record
    return state


# -- provision -------------------------------------------------------------------------------------
@step
def create_gateway(state: dict[str, Any], execution: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        bot = workflow.owned(state)
        revision = Revision.get(*Revision.key(bot.workspace_id, bot.id, state["desired_revision_id"]),
                                consistent_read=True)
        spec = GatewaySpec(bot.id, config=_with_secrets(json.loads(revision.config), bot.workspace_id),
                           openclaw_version=state.get("openclaw_version") or _provider(state).capabilities()
                           .openclaw_versions[0], size=(state.get("target_settings") or {}).get("size", "small"))
        return {"gateway_state": _provider(state).create(spec).state.value}

    return state | workflow.run_once(state, execution, "create", work)


# -- apply ---------------------------------------------------------------------------------------------
@step
def apply_config(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """The desired revision onto the live gateway: the provider writes it with the gateway's base hash
    (re-read on a concurrent change) and the gateway reloads it, hot or by restarting in place. The
    ready check that follows records the gateway's own hash of what it runs."""
    def work() -> dict[str, Any]:
        bot = workflow.owned(state)
        revision = Revision.get(*Revision.key(bot.workspace_id, bot.id, state["desired_revision_id"]),
                                consistent_read=True)
        change = GatewayUpdate(config=_with_secrets(json.loads(revision.config), bot.workspace_id))
        status = _provider(state).update(state["bot_id"], change)
        return {"gateway_state": status.state.value, "apply_detail": status.detail,
                "deadline_at": time.time() + state.get("ready_deadline_s", READY_DEADLINE_S)}

    output = workflow.run_once(state, execution, "apply", work) | {"pending_apply": False}
    if output["gateway_state"] != GatewayState.RUNNING.value and output.get("apply_detail"):
        # A restart-class change: said on the step; the ready check that follows waits for the restart.
        workflow.finish_step(state, execution, "apply", output["apply_detail"])
    return state | output


# -- lifecycle -------------------------------------------------------------------------------------
def _lifecycle(name: str, call: Callable[[Any, dict[str, Any]], Any]) -> Step:
    def run(state: dict[str, Any], execution: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            return {"gateway_state": call(_provider(state), state).state.value,
                    "deadline_at": time.time() + state.get("ready_deadline_s", READY_DEADLINE_S)}

        return state | workflow.run_once(state, execution, name, work)

    run.__name__ = f"{name}_gateway"
    return step(run)


# A restart is not idempotent by nature: the request id lets a retried one find the restart it did.
_lifecycle("restart", lambda provider, state: provider.restart(state["bot_id"], request_id=state["request_id"]))
_lifecycle("start", lambda provider, state: provider.start(state["bot_id"]))
_lifecycle("stop", lambda provider, state: provider.stop(state["bot_id"]))


@step
def check_stopped(state: dict[str, Any], execution: str) -> dict[str, Any]:
    status = _provider(state).describe(state["bot_id"])
    if status.state is not GatewayState.STOPPED:
        _past_deadline(state, f"the gateway is still {status.state.value}", STOP_DEADLINE_S)
        workflow.progress(state, execution, "stopped", status.state.value)
    else:
        workflow.finish_step(state, execution, "stopped", "stopped")
    return state | {"gateway_state": status.state.value}


# -- deprovision -----------------------------------------------------------------------------------
@step
def delete_gateway(state: dict[str, Any], execution: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        workflow.owned(state)
        _provider(state).delete(state["bot_id"])  # deleting what is gone already succeeds
        return {}

    return state | workflow.run_once(state, execution, "delete", work)


@step
def check_gone(state: dict[str, Any], execution: str) -> dict[str, Any]:
    try:
        status = _provider(state).describe(state["bot_id"])
    except GatewayNotFound:
        workflow.finish_step(state, execution, "gone", "gone")
        return state | {"gateway_state": "GONE"}
    _past_deadline(state, f"the gateway is still {status.state.value}", STOP_DEADLINE_S)
    return state | {"gateway_state": status.state.value}


# -- upgrade ---------------------------------------------------------------------------------------
@step
def backup_state(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """Keep the gateway's state and version to roll back to, named by the execution."""
    def work() -> dict[str, Any]:
        provider = _provider(state)
        status = provider.describe(state["bot_id"])
        return {"previous_version": status.openclaw_version, "backup_id": provider.backup(state["bot_id"], execution)}

    return state | workflow.run_once(state, execution, "backup", work)


@step
def set_version(state: dict[str, Any], execution: str) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        change = GatewayUpdate(openclaw_version=state["target_version"])
        return {"gateway_state": _provider(state).update(state["bot_id"], change).state.value,
                "deadline_at": time.time() + state.get("ready_deadline_s", READY_DEADLINE_S)}

    return state | workflow.run_once(state, execution, "upgrade", work)


@step
def rollback(state: dict[str, Any], execution: str) -> dict[str, Any]:
    """The backup back in place (state, config, version): the gateway as it was before the upgrade. Its
    wait gets a deadline of its own (the upgrade's has passed, maybe)."""
    def work() -> dict[str, Any]:
        status = _provider(state).restore(state["bot_id"], state["backup_id"], request_id=f"{execution}-rollback")
        return {"gateway_state": status.state.value,
                "deadline_at": time.time() + state.get("ready_deadline_s", READY_DEADLINE_S),
                "upgrade_error": state.get("error"), "waiting_step": "rollback_ready"}

    workflow.fail_open_steps(state, execution, _reason(state.get("error") or {}))  # the new version's wait
    return state | workflow.run_once(state, execution, "rollback", work)


@step
def record_rollback(state: dict[str, Any], execution: str) -> dict[str, Any]:
    reason = f"upgrade to {state['target_version']} failed and was rolled back: " \
             f"{_reason(state.get('upgrade_error') or {})}"
    workflow.finish_step(state, execution, "rolled_back", reason)  # first, as in record_failure
    workflow.settle(state, machine.BotStatus.RUNNING, reason=reason,
                    fields={"openclaw_version": state["previous_version"]})
    return state


# -- helpers ---------------------------------------------------------------------------------------
def _provider(state: dict[str, Any]):
    return provider_for(state["target"], state.get("target_settings"))


def _past_deadline(state: dict[str, Any], what: str, budget_s: float | None = None) -> None:
    deadline = state["deadline_at"] if budget_s is None else min(state["deadline_at"], time.time() + budget_s)
    if time.time() > deadline:
        raise DeadlineExceeded(f"deadline passed: {what}", {"deadline_at": deadline})


def _reason(error: dict[str, Any]) -> str:
    """A failure's reason from Step Functions' {Error, Cause}: our cause is JSON with a message."""
    cause = error.get("Cause") or ""
    try:
        parsed = json.loads(cause)
    except (TypeError, ValueError):
        return f"{error.get('Error', 'error')}: {cause}"[:1000]
    if isinstance(parsed, dict) and "errorMessage" in parsed:  # Lambda's envelope around our JSON cause
        try:
            parsed = json.loads(parsed["errorMessage"])
        except (TypeError, ValueError):
            return str(parsed["errorMessage"])[:1000]
    if isinstance(parsed, dict) and "message" in parsed:
        return f"{parsed.get('code', 'ERROR')}: {parsed['message']}"[:1000]
    return str(parsed)[:1000]


def _with_secrets(config: Any, workspace_id: str, path: str = "config") -> Any:
    """The config with each {"$secretRef": ...} replaced by its value, for the gateway's own file.
    Only here, on the way to the provider; what the table and the API hold are references. A reference to
    another workspace's connector (clawster/<workspace>/...) is refused, naming its path."""
    from clawster.secrets import resolve

    if isinstance(config, dict):
        if set(config) == {CONFIG_KEY}:
            ref = SecretRef.from_config(config, field=path)
            check_workspace(ref, workspace_id, field=path)
            return resolve(ref)
        return {key: _with_secrets(value, workspace_id, f"{path}.{key}") for key, value in config.items()}
    if isinstance(config, list):
        return [_with_secrets(value, workspace_id, f"{path}[{i}]") for i, value in enumerate(config)]
    return config

from functions.tasks import rotation as _rotation  # noqa: E402, F401  (the rotate workflow's steps, by name)
