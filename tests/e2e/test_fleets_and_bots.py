"""Fleets and bots through the local API Gateway, against moto's DynamoDB."""

from __future__ import annotations

from tests.helpers import put_bot_in_status


def test_fleet_crud_with_versions_and_cursor_pagination(team):
    owner, ws = team.owner, team.ws
    created = [owner.post(f"{ws}/fleets", {"name": f"f{i}", "environment": "staging", "tags": {"i": str(i)}}).ok(201)
               for i in range(5)]
    assert created[0].etag == '"1"'

    seen, cursor = [], None
    while True:
        page = owner.get(f"{ws}/fleets", query={"limit": 2, "cursor": cursor}).ok(200).body
        assert len(page["items"]) <= 2
        seen += [f["id"] for f in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(r.body["id"] for r in created)  # every fleet once, none twice

    fleet = created[0].body
    path = f"{ws}/fleets/{fleet['id']}"
    assert owner.patch(path, {"description": "x"}).status == 428  # If-Match is required
    updated = owner.patch(path, {"description": "blue", "tags": {"team": "a"}}, etag='"1"').ok(200)
    assert updated.body["version"] == 2 and updated.etag == '"2"' and updated.body["tags"] == {"team": "a"}
    stale = owner.patch(path, {"description": "lost update"}, etag='"1"').ok(409)
    assert stale.body["code"] == "VERSION_CONFLICT"
    assert owner.get(path).body["description"] == "blue"  # the stale write changed nothing

    assert owner.delete(path, etag='"1"').ok(409).body["code"] == "VERSION_CONFLICT"
    owner.delete(path, etag='"2"').ok(204)
    assert owner.get(path).ok(404).body["code"] == "NOT_FOUND"
    assert owner.get(ws).body["fleet_count"] == 4


def test_fleet_with_bots_cannot_be_deleted(team):
    team.with_bot()
    owner, fleet_path = team.owner, f"{team.ws}/fleets/{team.fleet_id}"
    fleet = owner.get(fleet_path).ok(200)
    assert fleet.body["bot_count"] == 1 and fleet.body["version"] == 1  # the counter is not an edit
    refused = owner.delete(fleet_path, etag=fleet.etag).ok(409)
    assert "delete them first" in refused.body["message"]
    bot = owner.get(f"{team.ws}/bots/{team.bot_id}").ok(200)
    owner.delete(f"{team.ws}/bots/{team.bot_id}", etag=bot.etag).ok(204)
    assert owner.get(fleet_path).body["bot_count"] == 0
    owner.delete(fleet_path, etag=fleet.etag).ok(204)


def test_bot_from_template_and_raw_config_with_revisions(team):
    team.with_bot()
    owner, ws = team.owner, team.ws
    bot = owner.get(f"{ws}/bots/{team.bot_id}").ok(200).body
    assert bot["status"] == "PENDING" and bot["template_id"] == "minimal" and bot["applied_revision_id"] is None
    rev = owner.get(f"{ws}/bots/{team.bot_id}/revisions/{bot['desired_revision_id']}").ok(200).body
    assert rev["number"] == 1 and rev["config"]["gateway"]["mode"] == "local" and rev["source"] == "template"

    raw = {"gateway": {"mode": "local"}, "agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}}
    raw_bot = owner.post(f"{ws}/fleets/{team.fleet_id}/bots", {"name": "raw", "config": raw}).ok(201).body
    raw_rev = owner.get(f"{ws}/bots/{raw_bot['id']}/revisions/{raw_bot['desired_revision_id']}").ok(200).body
    # The secure defaults every gateway gets are part of the revision (the token is the target's own).
    secured = {**raw, "gateway": {"mode": "local", "auth": {"mode": "token"}, "bind": "loopback"}}
    assert raw_rev["config"] == secured and raw_rev["source"] == "raw"

    new_config = {**raw, "update": {"checkOnStart": False}}
    updated = owner.patch(f"{ws}/bots/{raw_bot['id']}", {"config": new_config, "name": "raw-2"}, etag='"1"').ok(200).body
    assert updated["desired_revision_id"] != raw_bot["desired_revision_id"] and updated["name"] == "raw-2"
    revisions = owner.get(f"{ws}/bots/{raw_bot['id']}/revisions").ok(200).body["items"]
    assert [r["number"] for r in revisions] == [2, 1]  # newest first, both kept (immutable)
    assert revisions[0]["config_hash"] != revisions[1]["config_hash"]


def test_a_bot_shows_its_own_config_layer_which_a_patch_replaces(team):
    """GET and PATCH of one bot carry its own layer (what an editor starts from and sends back), not the
    effective config: the template and the secure defaults stay out of it. A page of bots leaves it out."""
    team.with_bot()
    owner, ws = team.owner, team.ws
    assert owner.get(f"{ws}/bots/{team.bot_id}").ok(200).body["config"] == {}  # all from its template
    own = {"agents": {"defaults": {"model": {"primary": "mock/mock-1"}}}}
    bot = owner.post(f"{ws}/fleets/{team.fleet_id}/bots", {"name": "own", "template_id": "minimal", "config": own}).ok(201)
    path = f"{ws}/bots/{bot.body['id']}"
    read = team.clients["VIEWER"].get(path).ok(200)
    assert read.body["config"] == own
    changed = {"ui": {"seamColor": "#1b40ae"}}
    patched = owner.patch(path, {"config": changed}, etag=read.etag).ok(200)
    assert patched.body["config"] == changed and owner.get(path).ok(200).body["config"] == changed
    listed = owner.get(f"{ws}/fleets/{team.fleet_id}/bots").ok(200).body["items"]
    assert listed and all("config" not in item for item in listed)


def test_unknown_template_and_plaintext_secrets_are_refused_with_the_field(team):
    team.with_bot()
    bots = f"{team.ws}/fleets/{team.fleet_id}/bots"
    unknown = team.owner.post(bots, {"name": "x", "template_id": "nope"}).ok(422)
    assert unknown.body["details"]["errors"][0]["field"] == "template_id"

    leaked = {"models": {"providers": {"openai": {"apiKey": "sk-live-123"}}}}
    refused = team.owner.post(bots, {"name": "x", "config": leaked}).ok(422)
    assert refused.body["details"]["errors"][0]["field"] == "config.models.providers.openai.apiKey"
    assert "sk-live-123" not in str(refused.body)

    by_ref = {"models": {"providers": {"openai": {"apiKey": {"$secretRef": "clawster/openai"}}}}}
    team.owner.post(bots, {"name": "x", "config": by_ref}).ok(201)
    assert team.owner.post(bots, {"name": "x"}).ok(422).body["code"] == "VALIDATION_FAILED"


def test_list_bots_filters_by_status_and_tags(team):
    team.with_bot()
    owner, ws = team.owner, team.ws
    bots = f"{ws}/fleets/{team.fleet_id}/bots"
    owner.post(bots, {"name": "p1", "template_id": "minimal", "tags": {"env": "prod", "team": "a"}}).ok(201)
    owner.post(bots, {"name": "p2", "template_id": "minimal", "tags": {"env": "prod"}}).ok(201)
    names = lambda q: sorted(b["name"] for b in owner.get(bots, query=q).ok(200).body["items"])  # noqa: E731
    assert names({}) == ["bot-a", "p1", "p2"]
    assert names({"tag": "env=prod"}) == ["p1", "p2"]
    assert names({"tag": ["env=prod", "team"]}) == ["p1"]
    assert names({"status": "PENDING"}) == ["bot-a", "p1", "p2"]
    assert names({"status": "RUNNING"}) == []
    assert owner.get(bots, query={"status": "NAPPING"}).ok(422).body["details"]["errors"][0]["field"].endswith("status")
    assert owner.get(bots, query={"tag": "bad tag!"}).ok(422).body["details"]["errors"][0]["field"] == "tag"


def test_lifecycle_intents_are_accepted_and_recorded_or_refused_by_state(team, stack):
    """What the API decides at once; the workflows that then run are tests/workflows'."""
    team.with_bot()
    owner, bot_path = team.owner, f"{team.ws}/bots/{team.bot_id}"
    refused = owner.post(f"{bot_path}/pause").ok(409)
    assert refused.body["code"] == "INVALID_STATE" and refused.body["details"]["status"] == "PENDING"
    assert refused.body["details"]["allowed_actions"] == ["delete", "provision"]
    no_target = owner.post(f"{bot_path}/provision").ok(409)  # created without a target: nowhere to provision
    assert no_target.body["details"]["errors"][0]["field"] == "target"

    put_bot_in_status(team.workspace_id, team.bot_id, "RUNNING")
    accepted = owner.post(f"{bot_path}/stop").ok(202).body
    assert accepted["intent"]["action"] == "stop" and accepted["intent"]["requested_by"] == team.users["OWNER"]
    assert accepted["intent"]["execution_arn"].endswith(":" + accepted["intent"]["id"])
    bot = owner.get(bot_path).ok(200).body
    recorded = bot["intent"] or bot["last_workflow"]  # the workflow may have ended already
    assert recorded["id"] == accepted["intent"]["id"]
    assert owner.post(f"{bot_path}/explode").ok(422).body["code"] == "VALIDATION_FAILED"


# What each status takes, written out by hand from the lifecycle's rules (docs: a workflow owns the bot while it
# is CREATING, RECONCILING or DELETING, so it takes nothing then).
ALLOWED = {
    "PENDING": ["delete", "provision"],
    "CREATING": [],
    "RUNNING": ["apply", "delete", "pause", "restart", "stop", "upgrade"],
    "DEGRADED": ["apply", "delete", "pause", "restart", "stop", "upgrade"],
    "PAUSED": ["delete", "resume", "stop"],
    "STOPPED": ["delete", "start"],
    "ERROR": ["delete", "provision", "restart", "stop"],
    "RECONCILING": [],
    "DELETING": [],
}


def test_a_bot_says_which_workflows_its_status_takes_now(team):
    """The console enables a bot's actions from this, as the API's 409 would refuse the others."""
    team.with_bot()
    bot_path = f"{team.ws}/bots/{team.bot_id}"
    for status, allowed in ALLOWED.items():
        put_bot_in_status(team.workspace_id, team.bot_id, status)
        assert team.clients["VIEWER"].get(bot_path).ok(200).body["allowed_actions"] == allowed, status
        listed = team.owner.get(f"{team.ws}/fleets/{team.fleet_id}/bots").ok(200).body["items"]
        assert listed[0]["allowed_actions"] == allowed, status


def test_cursor_from_another_listing_is_a_400(team):
    owner, ws = team.owner, team.ws
    for i in range(3):
        owner.post(f"{ws}/fleets", {"name": f"f{i}"}).ok(201)
    cursor = owner.get(f"{ws}/fleets", query={"limit": 1}).body["next_cursor"]
    assert cursor
    other_ws = team.outsider.get("/workspaces").body["items"][0]["id"]
    assert team.outsider.get(f"/workspaces/{other_ws}/fleets", query={"cursor": cursor}).ok(400).body["code"] == "BAD_REQUEST"
    assert owner.get(f"{ws}/fleets", query={"cursor": "not-a-cursor"}).ok(400).body["message"].startswith("cursor")


def test_malformed_json_body_is_a_client_error(team):
    reply = team.owner.request("POST", f"{team.ws}/fleets", raw=b"{not json")
    assert 400 <= reply.status < 500, reply.body


def test_a_fleet_counts_its_bots_by_status_and_health(team):
    owner, ws = team.owner, team.ws
    created = owner.post(f"{ws}/fleets", {"name": "counted"}).ok(201).body
    assert created["bot_summary"]["total"] == 0
    fleet, other = created["id"], owner.post(f"{ws}/fleets", {"name": "other"}).ok(201).body["id"]
    statuses = ["RUNNING", "RUNNING", "DEGRADED", "ERROR", "CREATING", "PAUSED", "PENDING"]
    for i, status in enumerate(statuses):
        bot = owner.post(f"{ws}/fleets/{fleet}/bots", {"name": f"b{i}", "template_id": "minimal"}).ok(201).body
        put_bot_in_status(team.workspace_id, bot["id"], status)
    owner.post(f"{ws}/fleets/{other}/bots", {"name": "elsewhere", "template_id": "minimal"}).ok(201)

    expected = {  # by hand: RUNNING healthy; DEGRADED, ERROR unhealthy; CREATING in progress; PAUSED, PENDING inactive
        "total": 7,
        "by_status": {"PENDING": 1, "CREATING": 1, "RECONCILING": 0, "RUNNING": 2, "DEGRADED": 1, "PAUSED": 1,
                      "STOPPED": 0, "ERROR": 1, "DELETING": 0},
        "by_health": {"healthy": 2, "unhealthy": 2, "in_progress": 1, "inactive": 2},
    }
    read = team.clients["VIEWER"].get(f"{ws}/fleets/{fleet}").ok(200)
    assert read.body["bot_summary"] == expected and read.body["bot_count"] == 7
    listed = {f["id"]: f["bot_summary"] for f in owner.get(f"{ws}/fleets").ok(200).body["items"]}
    assert listed[fleet] == expected
    assert listed[other]["total"] == 1 and listed[other]["by_status"]["PENDING"] == 1  # each fleet its own bots
    patched = owner.patch(f"{ws}/fleets/{fleet}", {"description": "x"}, etag=read.etag).ok(200)
    assert patched.body["bot_summary"] == expected
