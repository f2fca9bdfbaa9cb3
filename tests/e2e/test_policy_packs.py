"""Policy packs through the real local stack: a workspace's own packs (CRUD, roles, If-Match, audit), the
dry-run evaluation (nothing stored), and a provision refused by an ERROR finding (no bot, no revision, no
workflow) or accepted with its WARNING findings. No gateway is started: a refused provision never starts
one, and the accepted one is made in-process with the workflow start failing (the bot stays PENDING)."""

from __future__ import annotations

import pytest

from clawster.domain.roles import Role
from clawster.services import bots, executions, fleets, policy_packs
from clawster.services.context import Access, Caller
from clawster.store.entities import Bot, PolicyPack, Revision, Workspace

OPEN_DMS = {"channels": {"telegram": {"enabled": True, "dmPolicy": "open", "allowFrom": ["*"],
                                      "botToken": {"$secretRef": "clawster/telegram/bot-token"}}}}
TLS_RULE = {"id": "tls", "type": "path", "path": "gateway.tls.enabled", "op": "equals", "value": True,
            "severity": "WARNING"}
PORT_RULE = {"id": "port", "type": "path", "path": "gateway.port", "op": "exists"}


def _stored(workspace_id: str) -> dict[str, int]:
    """The oracle of what a request wrote: the workspace's bots, revisions and packs, read from the table."""
    items = list(Workspace.query(Workspace.key(workspace_id)[0], consistent_read=True))
    kinds = [item.sk.split("#")[0] for item in items]
    return {kind: kinds.count(kind) for kind in ("BOT", "REV", "POLICYPACK")}


def _audit_count(team) -> int:
    return len(team.owner.get(f"{team.ws}/audit", query={"limit": 100}).ok(200).body["items"])


def test_crud_of_a_workspace_pack_with_roles_and_if_match(team):
    packs = f"{team.ws}/policy-packs"
    body = {"name": "tls", "environments": ["prod"], "rules": [TLS_RULE]}
    team.clients["OPERATOR"].post(packs, body).ok(403)
    created = team.clients["ADMIN"].post(packs, body).ok(201)
    pack = created.body
    assert created.etag == '"1"' and pack["builtin"] is False and pack["environments"] == ["prod"]
    assert pack["rules"] == [{"id": "tls", "type": "path", "severity": "WARNING", "environments": [],
                              "enabled": True, "path": "gateway.tls.enabled", "op": "equals", "value": True}]
    viewer = team.clients["VIEWER"]
    assert [p["id"] for p in viewer.get(packs).ok(200).body["items"]] == [pack["id"]]
    assert viewer.get(f"{packs}/{pack['id']}").ok(200).body == pack
    team.outsider.get(f"{packs}/{pack['id']}").ok(404)

    viewer.patch(f"{packs}/{pack['id']}", {"name": "x"}, etag='"1"').ok(403)
    team.clients["ADMIN"].patch(f"{packs}/{pack['id']}", {"name": "x"}).ok(428)
    updated = team.clients["ADMIN"].patch(f"{packs}/{pack['id']}", {"name": "tls everywhere", "environments": []},
                                          etag='"1"').ok(200)
    assert (updated.etag, updated.body["name"], updated.body["environments"]) == ('"2"', "tls everywhere", [])
    team.clients["ADMIN"].patch(f"{packs}/{pack['id']}", {"name": "stale"}, etag='"1"').ok(409)
    team.clients["ADMIN"].delete(f"{packs}/{pack['id']}", etag='"1"').ok(409)
    team.clients["ADMIN"].delete(f"{packs}/{pack['id']}", etag='"2"').ok(204)
    viewer.get(f"{packs}/{pack['id']}").ok(404)
    actions = [e["action"] for e in team.owner.get(f"{team.ws}/audit", query={"target": f"policy-pack/{pack['id']}"})
               .ok(200).body["items"]]
    assert sorted(actions) == ["policy.create", "policy.delete", "policy.update"]


@pytest.mark.parametrize(("rule", "field"), [
    ({"id": "r", "type": "require_magic"}, "rules[0].type"),
    ({"id": "r", "type": "path", "path": "gateway.bind", "op": "like", "value": "lan"}, "rules[0].config.op"),
    ({"id": "r", "type": "path", "path": "gateway.bind", "op": "in", "value": "lan"}, "rules[0].config.value"),
    ({"id": "r", "type": "require_sandbox", "path": "gateway.bind"}, "rules[0].path"),
])
def test_a_rule_the_evaluator_cannot_run_is_a_422_naming_the_field(team, rule, field):
    before = _stored(team.workspace_id)
    refused = team.owner.post(f"{team.ws}/policy-packs", {"name": "bad", "rules": [rule]}).ok(422).body
    assert refused["details"]["errors"][0]["field"] == field
    assert _stored(team.workspace_id) == before


def test_builtin_packs_are_listed_to_any_caller(team):
    items = team.clients["VIEWER"].get("/policy-packs/builtin").ok(200).body["items"]
    assert [p["id"] for p in items] == ["builtin-openclaw-security-baseline", "builtin-openclaw-channel-safety",
                                        "builtin-openclaw-production-hardening"]
    assert all(p["builtin"] for p in items)


def test_evaluate_is_a_dry_run_that_stores_nothing(team):
    team.owner.post(f"{team.ws}/policy-packs", {"name": "port", "rules": [PORT_RULE, TLS_RULE]}).ok(201)
    before, audited = _stored(team.workspace_id), _audit_count(team)
    result = team.clients["VIEWER"].post(f"{team.ws}/policy-packs/evaluate",
                                         {"config": OPEN_DMS, "environment": "dev"}).ok(200).body
    assert result["valid"] is False
    rules = sorted((f["rule_id"], f["path"]) for f in result["errors"])
    assert rules == [("port", "gateway.port"), ("require-channel-allowlist", "channels.telegram.allowFrom"),
                     ("require-dm-policy", "channels.telegram.dmPolicy")]
    assert sorted((f["rule_id"], f["path"]) for f in result["warnings"]) == [
        ("require-dm-policy", "channels.telegram.dmPolicy"), ("tls", "gateway.tls.enabled")]
    # the secure defaults every gateway gets are part of what is judged: auth and bind pass
    ok = team.owner.post(f"{team.ws}/policy-packs/evaluate",
                         {"config": {"gateway": {"auth": {"mode": "none"}}}, "environment": "staging",
                          "pack_ids": ["builtin-openclaw-security-baseline"]}).ok(200).body
    assert (ok["valid"], ok["errors"], ok["warnings"]) == (True, [], [])
    team.owner.post(f"{team.ws}/policy-packs/evaluate", {"config": {}, "pack_ids": ["nope"]}).ok(422)
    assert (_stored(team.workspace_id), _audit_count(team)) == (before, audited)


def test_a_provision_refused_by_an_error_finding_writes_nothing(team):
    fleet = team.owner.post(f"{team.ws}/fleets", {"name": "policy-fleet"}).ok(201).body
    before, audited = _stored(team.workspace_id), _audit_count(team)
    refused = team.owner.post(f"{team.ws}/fleets/{fleet['id']}/bots",
                              {"name": "open", "template_id": "telegram", "config": OPEN_DMS,
                               "target": "local"}).ok(422).body
    assert refused["code"] == "POLICY_VIOLATION"
    assert {(f["rule_id"], f["path"], f["severity"]) for f in refused["details"]["findings"]} >= {
        ("require-dm-policy", "channels.telegram.dmPolicy", "ERROR"),
        ("require-channel-allowlist", "channels.telegram.allowFrom", "ERROR")}
    assert (_stored(team.workspace_id), _audit_count(team)) == (before, audited)
    assert team.owner.get(f"{team.ws}/fleets/{fleet['id']}").ok(200).body["bot_count"] == 0

    # the same config without a target is stored (nothing deploys it); provisioning it later is refused
    bot = team.owner.post(f"{team.ws}/fleets/{fleet['id']}/bots",
                          {"name": "open", "template_id": "telegram", "config": OPEN_DMS}).ok(201).body
    assert bot["policy_warnings"] is None


def test_a_workspace_error_rule_refuses_a_provision_in_its_environment_only(team):
    prod = team.owner.post(f"{team.ws}/fleets", {"name": "prod-fleet", "environment": "prod"}).ok(201).body
    team.owner.post(f"{team.ws}/policy-packs",
                    {"name": "tls in prod", "environments": ["prod"],
                     "rules": [{**TLS_RULE, "severity": "ERROR"}]}).ok(201)
    before = _stored(team.workspace_id)
    refused = team.owner.post(f"{team.ws}/fleets/{prod['id']}/bots",
                              {"name": "b", "template_id": "minimal", "target": "local"}).ok(422).body
    assert ("tls", "gateway.tls.enabled") in {(f["rule_id"], f["path"]) for f in refused["details"]["findings"]}
    assert _stored(team.workspace_id) == before


@pytest.fixture
def owner_access(team) -> Access:
    return Access(Caller(team.users["OWNER"], "test-policy-packs"), team.workspace_id, Role.OWNER, "bot.create")


def test_a_create_that_provisions_returns_its_warnings(stack, team, owner_access, monkeypatch):
    """In-process, with the workflow start failing: the bot is kept PENDING and no gateway starts."""
    def unavailable(*_args, **_kw):
        raise executions.WorkflowsUnavailable("workflows are off in this test")

    monkeypatch.setattr(executions, "state_machine_arn",
                        lambda action: "arn:aws:states:us-east-1:123456789012:stateMachine:test")
    monkeypatch.setattr(executions, "start", unavailable)
    team.owner.post(f"{team.ws}/policy-packs", {"name": "tls", "rules": [TLS_RULE]}).ok(201)
    fleet = fleets.create(owner_access, name="warned", environment="dev", description="", tags={})
    bot = bots.create(owner_access, fleet.id, name="warned", template_id="minimal", config=None, tags={},
                      target="local")
    assert [(w["rule_id"], w["path"], w["severity"]) for w in bot.policy_warnings] == [
        ("tls", "gateway.tls.enabled", "WARNING")]
    stored = Bot.get(*Bot.key(team.workspace_id, bot.id), consistent_read=True)
    assert stored.status == "PENDING" and stored.intent is None

    # provisioning it again is checked again: a new ERROR rule now refuses it, and nothing changes
    team.owner.post(f"{team.ws}/policy-packs", {"name": "port", "rules": [PORT_RULE]}).ok(201)
    refused = team.owner.post(f"{team.ws}/bots/{bot.id}/provision").ok(422).body
    assert refused["code"] == "POLICY_VIOLATION"
    after = Bot.get(*Bot.key(team.workspace_id, bot.id), consistent_read=True)
    assert (after.version, after.status, after.intent) == (stored.version, "PENDING", None)
    revisions = list(Revision.query(after.pk, Revision.sk.startswith(Revision.sk_prefix(bot.id))))
    assert len(revisions) == 1
    assert len(list(PolicyPack.query(after.pk, PolicyPack.sk.startswith(PolicyPack.sk_prefix())))) == 2
    assert policy_packs.check_deploy(team.workspace_id, {"gateway": {"port": 1, "tls": {"enabled": True}}},
                                     "dev") == []


def test_the_cli_manages_packs_and_evaluates(stack, new_user, tmp_path):
    import json

    from tests.e2e.cli_runner import clawster, fails, ok

    token = stack.issuer.issue(new_user("policy-cli"))
    env = {"CLAWSTER_API_URL": stack.api_url, "CLAWSTER_STATE_DIR": str(stack.state_dir), "CLAWSTER_TOKEN": token}

    def cli(*args: str):
        return clawster(*args, home=tmp_path / "home", env=env)

    workspace = json.loads(ok(cli("-o", "json", "workspace", "create", "policy-cli")).stdout)
    ws = ["--workspace", workspace["id"]]
    rules, config = tmp_path / "rules.json", tmp_path / "config.json"
    rules.write_text(json.dumps([PORT_RULE]))
    config.write_text(json.dumps(OPEN_DMS))
    assert "builtin-openclaw-security-baseline" in ok(cli("policy", "builtin")).stdout
    pack = json.loads(ok(cli("-o", "json", "policy", "create", "ports", "--rules-file", str(rules), "-e", "prod",
                             *ws)).stdout)
    assert pack["environments"] == ["prod"] and [r["id"] for r in pack["rules"]] == ["port"]
    assert pack["id"] in ok(cli("policy", "list", *ws)).stdout
    updated = json.loads(ok(cli("-o", "json", "policy", "update", pack["id"], "--name", "ports!", *ws)).stdout)
    assert (updated["name"], updated["version"]) == ("ports!", 2)
    assert json.loads(ok(cli("-o", "json", "policy", "get", pack["id"], *ws)).stdout)["name"] == "ports!"
    refused = fails(cli("policy", "evaluate", "--config-file", str(config), "-e", "prod", *ws), 6, "ERROR finding")
    assert "channels.telegram.dmPolicy" in refused.stdout and "gateway.port" in refused.stdout
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps({"gateway": {"port": 18789}, "agents": {"defaults": {"sandbox": {"mode": "all"}}}}))
    warned = ok(cli("policy", "evaluate", "--config-file", str(clean), "-e", "prod", *ws)).stdout
    assert "WARNING" in warned and "tools.profile" in warned and "ERROR" not in warned
    assert ok(cli("policy", "delete", pack["id"], *ws)).stdout.strip() == f"deleted policy pack {pack['id']}"


def test_a_config_applied_live_returns_its_warnings(stack, team, owner_access, monkeypatch):
    """A config change on a running bot is a deploy: its WARNING findings come back with the PATCH (the
    workflow start fails in-process here, so no gateway is needed and the bot is put back as it was)."""
    from tests.helpers import put_bot_in_status

    monkeypatch.setattr(executions, "state_machine_arn",
                        lambda action: "arn:aws:states:us-east-1:123456789012:stateMachine:test")
    monkeypatch.setattr(executions, "start", lambda *_a, **_k: (_ for _ in ()).throw(
        executions.WorkflowsUnavailable("workflows are off in this test")))
    fleet = fleets.create(owner_access, name="live", environment="dev", description="", tags={})
    bot = bots.create(owner_access, fleet.id, name="live", template_id="minimal", config=None, tags={})
    stored = Bot.get(*Bot.key(team.workspace_id, bot.id), consistent_read=True)
    stored.target = "local"
    stored.save()
    put_bot_in_status(team.workspace_id, bot.id, "RUNNING")
    team.owner.post(f"{team.ws}/policy-packs", {"name": "tls", "rules": [TLS_RULE]}).ok(201)
    etag = team.owner.get(f"{team.ws}/bots/{bot.id}").ok(200).etag
    patched = team.owner.patch(f"{team.ws}/bots/{bot.id}", {"config": {"ui": {"seamColor": "#123456"}}}, etag=etag)
    assert [(w["rule_id"], w["severity"]) for w in patched.ok(200).body["policy_warnings"]] == [("tls", "WARNING")]
