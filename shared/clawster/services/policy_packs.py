"""Policy packs: a workspace's own packs (stored, audited), the built-in ones, and evaluation.

What is evaluated is the config as the gateway will run it. A bot's revision is resolved with every secure
default of its environment already (services/layers.py), except the gateway's token, which the target
writes; `deployed_config` adds the defaults every environment gets (the token by reference among them), so
a config given directly (a dry run) is judged as deployed too.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from clawster import ids
from clawster.domain import policy, resolver
from clawster.domain.errors import Conflict, NotFound, PermanentError, ValidationFailed
from clawster.services import audit
from clawster.services.context import Access
from clawster.services.workspaces import check_version, stale
from clawster.store import cursor
from clawster.store.entities import PolicyPack
from clawster.store.transaction import Change

MAX_PACKS_READ = 100  # a workspace's packs read for one evaluation
MAX_RULES_BYTES = 32 * 1024  # a pack's rules, as stored (its audit event holds them twice, before and after)
_PATH_FIELDS = ("path", "op", "value")
_TOKEN_REF = "clawster/gateway-token"  # stands for the token the provider writes; only its presence is judged


class PolicyViolation(ValidationFailed):
    """422: ERROR findings of the policy packs refuse the deploy; details.findings lists every finding."""

    code = "POLICY_VIOLATION"

    def __init__(self, evaluation: policy.Evaluation):
        errors = [{"field": f"config.{f.path}", "reason": f"{f.message} ({f.pack_id}/{f.rule_id})"}
                  for f in evaluation.errors]
        PermanentError.__init__(self, "the config breaks policy: " + "; ".join(
            f"{e['field']}: {e['reason']}" for e in errors), {
            "errors": errors, "findings": [f.as_dict() for f in evaluation.errors + evaluation.warnings]})


def pack_not_found(pack_id: str) -> NotFound:
    return NotFound(f"policy pack {pack_id} not found", {"pack_id": pack_id})


def _rules(raw: list[dict[str, Any]]) -> tuple[policy.Rule, ...]:
    """Rules as the API gives them: a "path" rule has path, op and value beside its type (not in config)."""
    rules, seen = [], set()
    for index, item in enumerate(raw):
        config = dict(item.get("config") or {})
        if item["type"] == "path":
            config.update({key: item[key] for key in _PATH_FIELDS if item.get(key) is not None or key == "value"
                           and key in item})
        else:
            for key in _PATH_FIELDS:
                if item.get(key) is not None:
                    raise ValidationFailed(f"rules[{index}].{key}", "only a rule of type path has it")
        rule = policy.Rule(id=item["id"], type=item["type"], severity=item.get("severity", "ERROR"),
                           environments=tuple(item.get("environments") or ()), config=config,
                           enabled=item.get("enabled", True))
        policy.check_rule(rule, f"rules[{index}]")
        if rule.id in seen:
            raise ValidationFailed(f"rules[{index}].id", f"rule id {rule.id!r} is used twice in this pack")
        seen.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _stored_rules(raw: list[dict[str, Any]]) -> str:
    """The rules checked and in their stored form (JSON)."""
    stored = json.dumps([_rule_dict(r) for r in _rules(raw)], separators=(",", ":"), ensure_ascii=False)
    if len(stored.encode()) > MAX_RULES_BYTES:
        raise ValidationFailed("rules", f"the rules are larger than {MAX_RULES_BYTES // 1024} KiB")
    return stored


def _rule_dict(rule: policy.Rule) -> dict[str, Any]:
    shown = {"id": rule.id, "type": rule.type, "severity": rule.severity, "environments": list(rule.environments),
             "enabled": rule.enabled}
    return shown | (rule.config if rule.type == "path" else {"config": rule.config})


def to_pack(item: PolicyPack) -> policy.Pack:
    return policy.Pack(item.id, item.name, _rules(json.loads(item.rules)), builtin=False,
                       environments=tuple(json.loads(item.environments)))


def view(item: PolicyPack) -> dict[str, Any]:
    """A stored pack as the API shows it."""
    data = item.public()
    data["rules"], data["environments"] = json.loads(item.rules), json.loads(item.environments)
    data["builtin"] = False
    return data


def builtin_view(pack: policy.Pack) -> dict[str, Any]:
    return {"id": pack.id, "name": pack.name, "builtin": True, "environments": list(pack.environments),
            "rules": [_rule_dict(r) for r in pack.rules]}


def create(access: Access, *, name: str, description: str = "", environments: list[str],
           rules: list[dict[str, Any]]) -> PolicyPack:
    item = PolicyPack.new(workspace_id=access.workspace_id, name=name, description=description,
                          environments=json.dumps(environments), rules=_stored_rules(rules))
    change = audit.audited(access, f"policy-pack/{item.id}", None, item.public())
    change.create(item, exists_error=lambda: Conflict("policy pack id collision")).commit()
    return item


def get(access: Access, pack_id: str) -> PolicyPack:
    if not ids.is_id(pack_id):
        raise pack_not_found(pack_id)
    try:
        return PolicyPack.get(*PolicyPack.key(access.workspace_id, pack_id))
    except PolicyPack.DoesNotExist:
        raise pack_not_found(pack_id) from None


def list_page(access: Access, *, limit: int, cursor_in: str | None) -> tuple[list[PolicyPack], str | None]:
    partition = PolicyPack.key(access.workspace_id, "")[0]
    return cursor.page(
        PolicyPack.query, partition, PolicyPack.sk.startswith(PolicyPack.sk_prefix()), limit=limit,
        last_evaluated_key=cursor.decode(cursor_in, {"pk": partition}, {"sk": PolicyPack.sk_prefix()}),
    )


def update(access: Access, pack_id: str, *, expected_version: int, changes: dict[str, Any]) -> PolicyPack:
    item = get(access, pack_id)
    check_version("policy pack", pack_id, item.version, expected_version)
    before = item.public()  # rules as their JSON text: a rule's value may be nested as deep as a body allows
    if "rules" in changes:
        changes["rules"] = _stored_rules(changes["rules"])
    if "environments" in changes:
        changes["environments"] = json.dumps(changes["environments"])
    for key, value in changes.items():
        setattr(item, key, value)
    change = Change().edit(item, changes, expected_version=expected_version,
                           stale_error=lambda: stale("policy pack", pack_id))
    change.audit(audit.event(access, f"policy-pack/{pack_id}", before, item.public())).commit()
    return item


def delete(access: Access, pack_id: str, *, expected_version: int) -> None:
    item = get(access, pack_id)
    check_version("policy pack", pack_id, item.version, expected_version)
    change = Change().delete(item, expected_version=expected_version, stale_error=lambda: stale("policy pack", pack_id))
    change.audit(audit.event(access, f"policy-pack/{pack_id}", item.public(), None)).commit()


def _workspace_packs(workspace_id: str) -> list[policy.Pack]:
    partition = PolicyPack.key(workspace_id, "")[0]
    items = PolicyPack.query(partition, PolicyPack.sk.startswith(PolicyPack.sk_prefix()), limit=MAX_PACKS_READ)
    return [to_pack(item) for item in items]


def deployed_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with the secure defaults of every environment (see the module's docstring)."""
    context = resolver.BotContext("bot", "fleet", "dev")  # "dev": the defaults every environment gets
    return resolver.resolve(None, [], [], resolver.Override(config), context, datetime.now(timezone.utc),
                            gateway_token_ref=_TOKEN_REF).config


def evaluate(access: Access, config: dict[str, Any], environment: str,
             pack_ids: list[str] | None = None) -> policy.Evaluation:
    """The built-in packs and the workspace's own (or only those named) on the config as deployed."""
    packs = [*policy.BUILTIN_PACKS, *_workspace_packs(access.workspace_id)]
    if pack_ids is not None:
        known = {p.id: p for p in packs}
        for index, pack_id in enumerate(pack_ids):
            if pack_id not in known:
                raise ValidationFailed(f"pack_ids[{index}]", f"no policy pack {pack_id!r} in this workspace")
        packs = [known[pack_id] for pack_id in dict.fromkeys(pack_ids)]
    return policy.evaluate(deployed_config(config), packs, environment)


def check_deploy(workspace_id: str, config: dict[str, Any], environment: str) -> list[dict[str, str]]:
    """Before a bot is provisioned: PolicyViolation (422) on an ERROR finding; else its warnings."""
    evaluation = policy.evaluate(deployed_config(config),
                                 [*policy.BUILTIN_PACKS, *_workspace_packs(workspace_id)], environment)
    if not evaluation.valid:
        raise PolicyViolation(evaluation)
    return [f.as_dict() for f in evaluation.warnings]
