"""Policy packs (clawster.domain.policy): a hand-written table of configs x packs x environment -> the exact
findings, each rule's key paths held to the OpenClaw 2026.9.6 schema, the built-in templates passing the
built-in packs as deployed, and the validation of a workspace's rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clawster.domain import policy
from clawster.domain.errors import ValidationFailed
from clawster.domain.policy import BUILTIN_PACKS, Pack, Rule, evaluate
from clawster.domain.templates import TEMPLATES

SCHEMA = json.loads((Path(policy.__file__).parent / "openclaw_schemas" / "2026.9.6.json").read_text())

BASELINE, CHANNELS, PROD = "builtin-openclaw-security-baseline", "builtin-openclaw-channel-safety", \
    "builtin-openclaw-production-hardening"
SECURE = {"gateway": {"mode": "local", "bind": "loopback", "auth": {"mode": "token", "token": "t"}}}


def with_(extra: dict[str, Any]) -> dict[str, Any]:
    """SECURE with `extra` merged in (objects key by key)."""
    def merge(a: dict, b: dict) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
        return out
    return merge(SECURE, extra)


def pack(*rules: Rule, environments: tuple[str, ...] = ()) -> Pack:
    return Pack("custom", "custom", rules, environments=environments)


def found(evaluation: policy.Evaluation) -> dict[str, list[tuple[str, str, str]]]:
    return {kind: sorted((f.pack_id, f.rule_id, f.path) for f in getattr(evaluation, kind))
            for kind in ("errors", "warnings", "infos")}


# (case, config, packs, environment, expected errors, expected warnings); findings as (pack, rule, path).
CASES = [
    ("secure dev config", SECURE, BUILTIN_PACKS, "dev", [], []),
    ("no gateway section", {}, BUILTIN_PACKS, "dev",
     [(BASELINE, "require-gateway-auth", "gateway.auth.mode"),
      (BASELINE, "require-gateway-host-binding", "gateway.bind")], []),
    ("auth none, bind custom", with_({"gateway": {"auth": {"mode": "none"}, "bind": "custom"}}), BUILTIN_PACKS, "dev",
     [(BASELINE, "require-gateway-auth", "gateway.auth.mode"),
      (BASELINE, "require-gateway-host-binding", "gateway.bind")], []),
    ("token mode without a token", {"gateway": {"bind": "lan", "auth": {"mode": "token"}}}, BUILTIN_PACKS, "dev",
     [(BASELINE, "require-gateway-auth", "gateway.auth.token")], []),
    ("open DMs on telegram", with_({"channels": {"telegram": {"dmPolicy": "open", "allowFrom": ["*"]}}}),
     BUILTIN_PACKS, "dev",
     [(BASELINE, "require-channel-allowlist", "channels.telegram.allowFrom"),
      (BASELINE, "require-dm-policy", "channels.telegram.dmPolicy")],
     [(CHANNELS, "require-dm-policy", "channels.telegram.dmPolicy")]),
    ("disabled DMs: baseline fine, channel safety warns", with_({"channels": {"slack": {"dmPolicy": "disabled"}}}),
     BUILTIN_PACKS, "dev", [], [(CHANNELS, "require-dm-policy", "channels.slack.dmPolicy")]),
    ("a disabled channel is skipped", with_({"channels": {"discord": {"enabled": False, "dmPolicy": "open"}}}),
     BUILTIN_PACKS, "dev", [], []),
    ("wildcard group allowlist", with_({"channels": {"telegram": {"groupAllowFrom": ["*"]}}}), BUILTIN_PACKS, "dev",
     [(BASELINE, "require-channel-allowlist", "channels.telegram.groupAllowFrom")], []),
    ("open groups: only prod refuses", with_({"channels": {"telegram": {"groupPolicy": "open"}}}), BUILTIN_PACKS,
     "staging", [], []),
    ("elevated, exec full, a dangerously flag, fs outside the workspace",
     with_({"tools": {"elevated": {"enabled": True}, "exec": {"security": "full"}, "fs": {"workspaceOnly": False}},
            "gateway": {"controlUi": {"dangerouslyDisableDeviceAuth": True}}}), BUILTIN_PACKS, "dev",
     [(BASELINE, "forbid-dangerous-tools", "gateway.controlUi.dangerouslyDisableDeviceAuth"),
      (BASELINE, "forbid-dangerous-tools", "tools.exec.security"),
      (BASELINE, "require-workspace-isolation", "tools.fs.workspaceOnly")],
     [(BASELINE, "forbid-elevated-tools", "tools.elevated.enabled")]),
    ("two agents share a workspace; one agent elevated",
     with_({"agents": {"entries": {"a": {"workspace": "/w"}, "b": {"workspace": "/w",
                                                                    "tools": {"elevated": {"enabled": True}}}}}}),
     BUILTIN_PACKS, "dev", [(BASELINE, "require-workspace-isolation", "agents.entries.b.workspace")],
     [(BASELINE, "forbid-elevated-tools", "agents.entries.b.tools.elevated.enabled")]),
    ("weakened docker sandbox", with_({"agents": {"defaults": {"sandbox": {"mode": "all", "docker": {
        "readOnlyRoot": False, "capDrop": ["NET_RAW"], "network": "host"}}}}}), BUILTIN_PACKS, "dev", [],
     [(BASELINE, "require-sandbox-security-options", "agents.defaults.sandbox.docker.capDrop"),
      (BASELINE, "require-sandbox-security-options", "agents.defaults.sandbox.docker.network"),
      (BASELINE, "require-sandbox-security-options", "agents.defaults.sandbox.docker.readOnlyRoot")]),
    ("prod without sandbox, profile or model allowlist", SECURE, BUILTIN_PACKS, "prod",
     [(PROD, "require-sandbox", "agents.defaults.sandbox.mode")],
     [(PROD, "limit-tool-profile", "tools.profile"), (PROD, "require-model-guardrails",
                                                      "agents.defaults.modelPolicy.allow")]),
    ("prod hardened, but an agent unsandboxed and open groups by default",
     with_({"agents": {"defaults": {"sandbox": {"mode": "non-main"}, "modelPolicy": {"allow": ["openai/*"]}},
                       "entries": {"x": {"sandbox": {"mode": "off"}, "tools": {"profile": "full"}}}},
            "tools": {"profile": "messaging"}, "channels": {"defaults": {"groupPolicy": "open"}}}),
     BUILTIN_PACKS, "prod",
     [(PROD, "forbid-open-group-policy", "channels.defaults.groupPolicy"),
      (PROD, "require-sandbox", "agents.entries.x.sandbox.mode")],
     [(PROD, "limit-tool-profile", "agents.entries.x.tools.profile")]),
    ("custom path rule, in its environment",
     with_({"channels": {"telegram": {"dmPolicy": "pairing"}, "slack": {"dmPolicy": "allowlist"}}}),
     [pack(Rule("dm-pairing", "path", config={"path": "channels.*.dmPolicy", "op": "equals", "value": "pairing"}),
           Rule("no-tls", "path", "WARNING", config={"path": "gateway.tls", "op": "exists"}),
           Rule("staging-only", "path", config={"path": "gateway.port", "op": "exists"}, environments=("staging",)),
           Rule("off", "path", config={"path": "gateway.port", "op": "exists"}, enabled=False))],
     "dev", [("custom", "dm-pairing", "channels.slack.dmPolicy")], [("custom", "no-tls", "gateway.tls")]),
    ("custom pack outside its environment", {}, [pack(Rule("r", "require_gateway_auth"), environments=("prod",))],
     "dev", [], []),
    ("path ops not_equals / in / not_in / absent",
     with_({"gateway": {"port": 18789}, "logging": {"level": "debug"}}),
     [pack(Rule("a", "path", config={"path": "gateway.bind", "op": "not_equals", "value": "loopback"}),
           Rule("b", "path", config={"path": "logging.level", "op": "in", "value": ["info", "warn"]}),
           Rule("c", "path", config={"path": "gateway.port", "op": "not_in", "value": [18789]}),
           Rule("d", "path", "INFO", config={"path": "gateway.auth.token", "op": "absent"}),
           Rule("e", "path", config={"path": "gateway.mode", "op": "in", "value": ["local"]}))],
     "dev", [("custom", "a", "gateway.bind"), ("custom", "b", "logging.level"), ("custom", "c", "gateway.port")], []),
]


@pytest.mark.parametrize(("config", "packs", "environment", "errors", "warnings"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_findings(config, packs, environment, errors, warnings):
    evaluation = evaluate(config, packs, environment)
    assert found(evaluation)["errors"] == sorted(errors)
    assert found(evaluation)["warnings"] == sorted(warnings)
    assert evaluation.valid == (not errors)


def test_info_findings_are_kept_apart():
    evaluation = evaluate(SECURE, [pack(Rule("d", "path", "INFO", config={"path": "gateway.auth.token",
                                                                           "op": "absent"}))], "dev")
    assert evaluation.valid and not evaluation.errors and not evaluation.warnings
    assert [(f.rule_id, f.path, f.severity) for f in evaluation.infos] == [("d", "gateway.auth.token", "INFO")]


def _children(node: Any, key: str) -> list[Any]:
    """The schemas under `key` of an object schema, through anyOf/oneOf/allOf ("*": additionalProperties)."""
    if not isinstance(node, dict):
        return []
    out = [child for branch in ("anyOf", "oneOf", "allOf") for sub in node.get(branch, ()) for child in _children(sub, key)]
    if key == "*" and isinstance(node.get("additionalProperties"), dict):
        out.append(node["additionalProperties"])
    elif key in node.get("properties", {}):
        out.append(node["properties"][key])
    return out


def _schema_has(path: str) -> bool:
    nodes = [SCHEMA]
    for key in path.split("."):
        nodes = [child for node in nodes for child in _children(node, key)]
        if not nodes:
            return False
    return True


@pytest.mark.parametrize("rule_type", [t for t in policy.RULE_TYPES if t != "path"])
def test_each_rule_reads_real_openclaw_keys(rule_type):
    paths = policy.RULE_PATHS[rule_type]
    assert paths, f"{rule_type} lists no key paths"
    assert [p for p in paths if not _schema_has(p)] == []


def test_schema_check_would_catch_an_invented_key():
    assert not _schema_has("gateway.host") and not _schema_has("logging.redactSensitive")
    assert _schema_has("agents.entries.*.sandbox.mode")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_templates_as_deployed_pass_the_builtin_packs(template, environment):
    from clawster.services.policy_packs import deployed_config

    evaluation = evaluate(deployed_config(TEMPLATES[template].config), BUILTIN_PACKS, environment)
    assert (evaluation.errors, evaluation.warnings) == ((), ())


def test_builtin_packs_as_described():
    by_id = {p.id: p for p in BUILTIN_PACKS}
    assert set(by_id) == {BASELINE, CHANNELS, PROD}
    assert by_id[PROD].environments == ("prod",) and by_id[BASELINE].environments == ()
    baseline = {r.type: r.severity for r in by_id[BASELINE].rules}
    assert baseline == {"require_gateway_auth": "ERROR", "require_dm_policy": "ERROR",
                        "forbid_elevated_tools": "WARNING", "require_workspace_isolation": "ERROR",
                        "forbid_dangerous_tools": "ERROR", "require_gateway_host_binding": "ERROR",
                        "require_sandbox_security_options": "WARNING", "require_channel_allowlist": "ERROR"}


@pytest.mark.parametrize(("rule", "field"), [
    (Rule("r", "require_magic"), "rules[0].type"),
    (Rule("r", "path", config={"path": "gateway.bind", "op": "like", "value": 1}), "rules[0].config.op"),
    (Rule("r", "path", config={"path": "gateway..bind", "op": "exists"}), "rules[0].config.path"),
    (Rule("r", "path", config={"path": "gateway.bind", "op": "in", "value": "lan"}), "rules[0].config.value"),
    (Rule("r", "path", config={"path": "gateway.bind", "op": "equals"}), "rules[0].config.value"),
    (Rule("r", "require_sandbox", config={"modes": "all"}), "rules[0].config.modes"),
    (Rule("r", "require_gateway_auth", config={"strict": True}), "rules[0].config.strict"),
    (Rule("r", "require_gateway_auth", "FATAL"), "rules[0].severity"),
    (Rule("r", "require_gateway_auth", environments=("qa",)), "rules[0].environments"),
])
def test_a_rule_the_evaluator_cannot_run_is_refused_naming_the_field(rule, field):
    with pytest.raises(ValidationFailed) as refused:
        policy.check_rule(rule, "rules[0]")
    assert refused.value.details["errors"][0]["field"] == field
