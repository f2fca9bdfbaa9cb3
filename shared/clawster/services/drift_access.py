"""What the API does with drift: a bot's last drift report, a workspace's reports, and the drift policies of a
fleet or a bot (clawster.domain.drift: rules {class: action}; a bot's rule overrides its fleet's, which
overrides the default). The checks themselves are the drift job's (services/drift.py)."""

from __future__ import annotations

import json
from typing import Any

from clawster.domain import drift as rules
from clawster.domain.errors import Conflict
from clawster.services import audit, drift
from clawster.services import bots as bot_service
from clawster.services.context import Access
from clawster.services.fleets import get as get_fleet
from clawster.services.workspaces import stale
from clawster.store import cursor
from clawster.store.entities import DriftPolicy, DriftReport, ws_pk
from clawster.store.transaction import Change


def bot_drift(access: Access, bot_id: str) -> dict[str, Any]:
    """The bot's last drift report (state NOT_CHECKED before its first check) and its effective policy."""
    bot = bot_service.get(access, bot_id)
    try:
        report = drift.public(DriftReport.get(*DriftReport.key(access.workspace_id, bot.id)))
    except DriftReport.DoesNotExist:
        report = {"bot_id": bot.id, "fleet_id": bot.fleet_id, "state": "NOT_CHECKED", "checked_at": None,
                  "applied_revision_id": None, "live_hash": None, "adopted_revision_id": None,
                  "revert_request_id": None, "detail": None, "finding_count": 0, "findings": []}
    fleet_rules, bot_rules = drift.policy_rules(access.workspace_id, bot.fleet_id, bot.id)
    return report | {"policy": rules.effective_policy(fleet_rules, bot_rules)}


def workspace_drift(access: Access, *, limit: int, cursor_in: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The last drift report of each checked bot of the workspace (one Query: `DRIFT#` items of its partition)."""
    partition = ws_pk(access.workspace_id)
    reports, next_cursor = cursor.page(
        DriftReport.query, partition, DriftReport.sk.startswith(DriftReport.sk_prefix()), limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {"pk": partition}, {"sk": DriftReport.sk_prefix()}),
    )
    return [drift.public(r) for r in reports], next_cursor


def set_policy(access: Access, scope: str, owner_id: str, new_rules: dict[str, str]) -> dict[str, Any]:
    """Replace the drift rules of a fleet (scope FLEET) or a bot (BOT); {} removes every rule of that scope.
    Written on the version read (a concurrent write is a 409), with its audit event."""
    checked = rules.validate_rules(new_rules)
    fleet_id = get_fleet(access, owner_id).id if scope == "FLEET" else bot_service.get(access, owner_id).fleet_id
    key = DriftPolicy.key(access.workspace_id, scope, owner_id)
    target = f"{scope.lower()}/{owner_id}/drift-policy"
    try:
        item = DriftPolicy.get(*key, consistent_read=True)
        before: dict[str, Any] | None = {"rules": json.loads(item.rules)}
        expected = item.version
        item.rules, item.updated_by = json.dumps(checked, sort_keys=True), access.caller.user_id
        change = Change().edit(item, ["rules", "updated_by"], expected_version=expected,
                               stale_error=lambda: stale("drift policy", owner_id))
    except DriftPolicy.DoesNotExist:
        before = None
        item = DriftPolicy(workspace_id=access.workspace_id, scope=scope, owner_id=owner_id,
                           rules=json.dumps(checked, sort_keys=True), updated_by=access.caller.user_id)
        change = Change().create(item, exists_error=lambda: Conflict("the drift policy was set meanwhile; retry"))
    change.audit(audit.event(access, target, before, {"rules": checked}))
    change.commit()
    fleet_rules, bot_rules = drift.policy_rules(access.workspace_id, fleet_id, owner_id if scope == "BOT" else None)
    return {"scope": scope.lower(), "id": owner_id, "rules": checked,
            "effective": rules.effective_policy(fleet_rules, bot_rules if scope == "BOT" else None)}
