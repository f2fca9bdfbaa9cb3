"""A secret smuggled into a bot config, on create or update, is a 422 naming the path and never the value;
nothing is stored, so no VIEWER can read it from a revision (the table of cases: tests/unit/test_config_policy.py)."""

from __future__ import annotations

import json

SECRET = "sk-" + "proj-" + "Zq7" * 16  # assembled, so no scanner takes this file for a leak


def test_smuggled_secrets_are_refused_on_create_and_update(team):
    team.with_bot()
    owner, ws = team.owner, team.ws
    bots = f"{ws}/fleets/{team.fleet_id}/bots"
    smuggled = [
        ({"models": {"providers": {"openai": {"apiKey": {"value": SECRET}}}}}, "config.models.providers.openai.apiKey"),
        ({"models": {"providers": {"openai": {"apiKeys": [SECRET]}}}}, "config.models.providers.openai.apiKeys"),
        ({"ui": {"assistant": {"name": SECRET}}}, "config.ui.assistant.name"),
        ({"tools": {"web": {"fetch": {"headers": {"X-Tenant": "acme"}}}}}, "config.tools.web.fetch.headers.X-Tenant"),
    ]
    for config, field in smuggled:
        refused = owner.post(bots, {"name": "smuggler", "template_id": "minimal", "config": config}).ok(422)
        assert refused.body["code"] == "VALIDATION_FAILED"
        assert refused.body["details"]["errors"][0]["field"] == field
        assert SECRET not in json.dumps(refused.body) and "acme" not in json.dumps(refused.body)

    bot_path = f"{ws}/bots/{team.bot_id}"
    before = owner.get(bot_path).ok(200)
    for config, field in smuggled:
        refused = owner.patch(bot_path, {"config": config}, etag=before.etag).ok(422)
        assert refused.body["details"]["errors"][0]["field"] == field
        assert SECRET not in json.dumps(refused.body)

    after = owner.get(bot_path).ok(200)
    assert after.etag == before.etag and after.body["desired_revision_id"] == before.body["desired_revision_id"]
    names = [b["name"] for b in owner.get(bots).ok(200).body["items"]]
    assert "smuggler" not in names
    viewer = team.clients["VIEWER"]
    revisions = viewer.get(f"{bot_path}/revisions").ok(200).body["items"]
    assert len(revisions) == 1 and SECRET not in json.dumps(revisions)
    assert SECRET not in json.dumps(owner.get(f"{ws}/audit", query={"limit": 100}).ok(200).body)

    by_ref = {"models": {"providers": {"openai": {"apiKey": {"$secretRef": "clawster/openai"}}}}}
    owner.patch(bot_path, {"config": by_ref}, etag=before.etag).ok(200)


def test_a_reference_the_api_stored_resolves_from_the_stacks_secrets_manager(stack, team):
    """The local stack's moto serves Secrets Manager: a reference accepted in a bot's config is one the
    resolver (as a provider would call it, configured from the environment) turns into the value."""
    from clawster.secrets import SecretResolver

    name = f"clawster/{team.workspace_id}/openai"
    stack._client("secretsmanager").create_secret(Name=name, SecretString="value-from-moto")
    team.with_bot()
    config = {"models": {"providers": {"openai": {"apiKey": {"$secretRef": name}}}}}
    created = team.owner.post(f"{team.ws}/fleets/{team.fleet_id}/bots",
                              {"name": "by-ref", "template_id": "minimal", "config": config}).ok(201)
    revision = team.owner.get(f"{team.ws}/bots/{created.body['id']}/revisions/{created.body['desired_revision_id']}").ok(200)
    stored = revision.body["config"]["models"]["providers"]["openai"]["apiKey"]
    assert stored == {"$secretRef": name}
    assert SecretResolver().resolve(stored["$secretRef"]) == "value-from-moto"
