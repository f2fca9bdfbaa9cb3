"""Connectors: LLM provider keys and channel tokens, one Secrets Manager secret each
(`clawster/<workspace>/<connector>`), referenced from bot configs as {"$secretRef": <name or ARN>}.

The table and the API hold metadata only (docs/decisions.md, 2026-11-26): where the secret is, its
current version, the last connection test and rotation. A value comes in on create and rotate, goes
straight to Secrets Manager, and is read back only by a connection test (offline checks) and by the
rotate workflow on its way to the gateways. Audit events carry the metadata, never the value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

from clawster import ids, secret_store
from clawster.domain import connectors as kinds
from clawster.domain.errors import Conflict, InvalidState, NotFound, ValidationFailed
from clawster.domain.secret_refs import CONFIG_KEY
from clawster.services import audit, executions
from clawster.services.context import Access
from clawster.services.workspaces import check_version, stale
from clawster.store import cursor
from clawster.store.connectors import Connector, Rotation
from clawster.store.entities import Bot, Revision, now
from clawster.store.transaction import Change

MACHINE = "rotate"
DEFAULT_BATCH_SIZE = 5
ROTATABLE = ("RUNNING", "DEGRADED")  # a bot with a live gateway; the others get the value at their next deploy
MAX_BOTS_READ = 1000  # a workspace's bots read to find those that reference a connector


def secret_name(workspace_id: str, connector_id: str) -> str:
    return f"clawster/{workspace_id}/{connector_id}"


def not_found(connector_id: str) -> NotFound:
    return NotFound(f"connector {connector_id} not found", {"connector_id": connector_id})


def view(item: Connector) -> dict[str, Any]:
    """The connector as the API shows it: where the secret is and how to reference it; no value."""
    data = item.public()
    data["reference"] = {CONFIG_KEY: item.secret_name}
    return data


def rotation_view(item: Rotation) -> dict[str, Any]:
    return item.public()


def _refuse_bad_value(kind: str, value: str) -> None:
    """A value whose shape is wrong for its kind is refused (422 on `value`, the reason without the value)."""
    result = kinds.offline_test(kind, value)
    if result.result == kinds.FAILED:
        raise ValidationFailed("value", result.reason)


def create(access: Access, *, name: str, kind: str, value: str) -> Connector:
    _refuse_bad_value(kind, value)
    connector_id = ids.new_id()
    secret = secret_name(access.workspace_id, connector_id)
    arn, version = secret_store.create(secret, value, description=f"Clawster connector {name} ({kind})",
                                       tags={"clawster:workspace": access.workspace_id,
                                             "clawster:connector": connector_id, "clawster:kind": kind})
    item = Connector.new(workspace_id=access.workspace_id, name=name, kind=kind, secret_name=secret, secret_arn=arn,
                         current_version_id=version, created_by=access.caller.user_id)
    item.id = connector_id
    item.derive_keys()
    change = audit.audited(access, f"connector/{item.id}", None, view(item))
    try:
        change.create(item, exists_error=lambda: Conflict("connector id collision")).commit()
    except Exception:
        secret_store.delete(secret)  # nothing half-written: no secret without its connector
        raise
    return item


def get(access: Access, connector_id: str, *, consistent: bool = False) -> Connector:
    if not ids.is_id(connector_id):
        raise not_found(connector_id)
    try:
        return Connector.get(*Connector.key(access.workspace_id, connector_id), consistent_read=consistent)
    except Connector.DoesNotExist:
        raise not_found(connector_id) from None


def list_page(access: Access, *, limit: int, cursor_in: str | None) -> tuple[list[Connector], str | None]:
    partition = Connector.key(access.workspace_id, "")[0]
    return cursor.page(
        Connector.query, partition, Connector.sk.startswith(Connector.sk_prefix()), limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {"pk": partition}, {"sk": Connector.sk_prefix()}),
    )


def rename(access: Access, connector_id: str, *, expected_version: int, name: str) -> Connector:
    item = get(access, connector_id)
    check_version("connector", connector_id, item.version, expected_version)
    before = view(item)
    item.name = name
    change = Change().edit(item, ["name"], expected_version=expected_version,
                           stale_error=lambda: stale("connector", connector_id))
    change.audit(audit.event(access, f"connector/{connector_id}", before, view(item))).commit()
    return item


def delete(access: Access, connector_id: str, *, expected_version: int) -> None:
    """Refused (409) while a rotation runs or a bot's applied or desired config references it."""
    item = get(access, connector_id, consistent=True)
    check_version("connector", connector_id, item.version, expected_version)
    if item.rotation_id:
        raise InvalidState(f"connector {connector_id} is being rotated ({item.rotation_id})",
                           {"rotation_id": item.rotation_id})
    users = [bot.id for bot, _ in referencing_bots(item, applied_only=False)]
    if users:
        raise Conflict(f"connector {connector_id} is referenced by {len(users)} bot(s); change their configs first",
                       {"bot_ids": users[:20]})
    change = Change().delete(item, expected_version=expected_version, condition=Connector.rotation_id.does_not_exist(),
                             stale_error=lambda: stale("connector", connector_id))
    change.audit(audit.event(access, f"connector/{connector_id}", view(item), None)).commit()
    secret_store.delete(item.secret_name)


def test(access: Access, connector_id: str) -> dict[str, Any]:
    """The offline checks on the current value; the result (not the value) is kept on the connector."""
    item = get(access, connector_id)
    result = kinds.offline_test(item.kind, secret_store.current_value(item.secret_name)).as_dict()
    result["tested_at"] = now().isoformat()
    result["version_id"] = item.current_version_id
    for _ in range(3):  # a test result is an observation: a concurrent edit moves the version, read again
        before = view(item)
        item.last_test = result
        change = Change().edit(item, ["last_test"], expected_version=item.version,
                               stale_error=lambda: stale("connector", connector_id))
        try:
            change.audit(audit.event(access, f"connector/{connector_id}", before, view(item))).commit()
            break
        except Conflict:
            item = get(access, connector_id, consistent=True)
    return result


# -- rotation ----------------------------------------------------------------------------------------
def rotate(access: Access, connector_id: str, *, value: str, batch_size: int | None) -> Rotation:
    """The new value as AWSPENDING, a Rotation record, and the rotate workflow started (202)."""
    item = get(access, connector_id, consistent=True)
    if item.rotation_id:
        raise InvalidState(f"connector {connector_id} is being rotated already ({item.rotation_id})",
                           {"rotation_id": item.rotation_id})
    _refuse_bad_value(item.kind, value)
    if hmac.compare_digest(value.encode(), secret_store.current_value(item.secret_name).encode()):
        raise ValidationFailed("value", "is the current value; a rotation needs a new one")
    rotation_id = ids.new_id()
    token = hashlib.sha256(rotation_id.encode()).hexdigest()[:48]
    new_version = secret_store.put_pending(item.secret_name, value, token)
    rotation = Rotation.new(workspace_id=access.workspace_id, connector_id=item.id, status="RUNNING",
                            old_version_id=item.current_version_id, new_version_id=new_version,
                            batch_size=batch_size or DEFAULT_BATCH_SIZE, requested_by=access.caller.user_id)
    rotation.id = rotation_id
    rotation.derive_keys()
    machine = executions.state_machine_arn_of(MACHINE)
    rotation.execution_arn = executions.execution_arn(machine, rotation_id)
    before = view(item)
    item.rotation_id = rotation_id
    change = Change().edit(item, ["rotation_id"], expected_version=item.version,
                           condition=Connector.rotation_id.does_not_exist(),
                           stale_error=lambda: InvalidState(f"connector {connector_id} changed or is being rotated"))
    change.create(rotation, exists_error=lambda: Conflict("rotation id collision"))
    try:
        change.audit(audit.event(access, f"connector/{connector_id}", before, view(item))).commit()
    except Exception:
        secret_store.discard_pending(item.secret_name, new_version)
        raise
    state = {"workspace_id": access.workspace_id, "connector_id": item.id, "rotation_id": rotation_id,
             "request_id": rotation_id, "action": "rotate"}
    try:
        executions.start(machine, rotation_id, state)
    except executions.WorkflowsUnavailable as error:
        from clawster.services import rotation as workflow  # (it imports this module)

        workflow.fail(state, f"the rotate workflow could not start: {error.message}")  # nothing is held
        raise
    announce(rotation, "connector.rotation")
    return rotation


def get_rotation(access: Access, connector_id: str, rotation_id: str) -> Rotation:
    get(access, connector_id)
    if not ids.is_id(rotation_id):
        raise NotFound(f"rotation {rotation_id} not found", {"rotation_id": rotation_id})
    try:
        return Rotation.get(*Rotation.key(access.workspace_id, connector_id, rotation_id))
    except Rotation.DoesNotExist:
        raise NotFound(f"rotation {rotation_id} not found", {"rotation_id": rotation_id}) from None


def announce(rotation: Rotation, event_type: str) -> None:
    """Best effort on the workspace's topic (the table holds the truth)."""
    from clawster.services import stream

    data = {"connector_id": rotation.connector_id, "rotation_id": rotation.id, "status": rotation.status,
            "reason": rotation.reason, "batches_done": rotation.batches_done, "batch_count": rotation.batch_count}
    try:
        stream.publish(f"workspaces/{rotation.workspace_id}", event_type, data)
    except Exception:  # noqa: BLE001, S110 - the stream is best effort by design
        pass


# -- which bots use a connector ----------------------------------------------------------------------
def references_in(config: Any) -> Iterator[str]:
    if isinstance(config, dict):
        if set(config) == {CONFIG_KEY} and isinstance(config[CONFIG_KEY], str):
            yield config[CONFIG_KEY]
            return
        for value in config.values():
            yield from references_in(value)
    elif isinstance(config, list):
        for value in config:
            yield from references_in(value)


def revision_config(workspace_id: str, bot_id: str, revision_id: str) -> dict[str, Any]:
    revision = Revision.get(*Revision.key(workspace_id, bot_id, revision_id), consistent_read=True)
    return json.loads(revision.config)


def referencing_bots(connector: Connector, *, applied_only: bool = True) -> Iterator[tuple[Bot, dict[str, Any]]]:
    """Each bot of the workspace whose applied (and, unless applied_only, desired) revision references the
    connector, with the config of its applied revision (None when only the desired one does)."""
    refs = connector.references()
    partition = Bot.key(connector.workspace_id, "")[0]
    for bot in Bot.query(partition, Bot.sk.startswith("BOT#"), consistent_read=True, limit=MAX_BOTS_READ):
        revisions = [bot.applied_revision_id] + ([] if applied_only else [bot.desired_revision_id])
        for revision_id in dict.fromkeys(r for r in revisions if r):
            config = revision_config(bot.workspace_id, bot.id, revision_id)
            if refs & set(references_in(config)):
                yield bot, (config if revision_id == bot.applied_revision_id else None)
                break
