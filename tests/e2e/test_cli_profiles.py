"""Profiles in a config file, `login` and `whoami` on the local stack, and the rule that a local admin
token is minted only for the recorded local stack, never for an API somewhere else."""

from __future__ import annotations

import json
import socket
import tomllib

import jwt

from tests.e2e.cli_runner import clawster, fails, ok
from tests.helpers import Client


def _free_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_token_is_minted_only_for_the_recorded_local_stack(stack, tmp_path):
    local = {"CLAWSTER_STATE_DIR": str(stack.state_dir)}
    mine = json.loads(ok(clawster("-o", "json", "whoami", home=tmp_path, env=local)).stdout)
    assert mine["user"] == "admin" and mine["api_url"] == stack.api_url
    same = clawster("--api-url", stack.api_url + "/", "workspace", "list", home=tmp_path, env=local)
    ok(same)  # the same API (trailing slash aside): the local admin token is fine

    elsewhere = _free_url()
    fails(clawster("--api-url", elsewhere, "workspace", "list", home=tmp_path, env=local), 3,
          f"no token for {elsewhere}")
    config = tmp_path / "config.toml"
    config.write_text(f'default_profile = "remote"\n[profiles.remote]\napi_url = "{elsewhere}"\n')
    fails(clawster("--config", str(config), "workspace", "list", home=tmp_path, env=local), 3, "no token for")


def test_login_saves_a_local_token_in_the_profile_and_whoami_reads_it(stack, tmp_path, new_user, client_for):
    user = new_user("dev")
    workspace = client_for(user).post("/workspaces", {"name": "mine"}).ok(201).body["id"]
    config = tmp_path / "config.toml"
    env = {"CLAWSTER_STATE_DIR": str(stack.state_dir), "CLAWSTER_CONFIG": str(config)}
    fails(clawster("--profile", "local", "whoami", home=tmp_path, env=env), 8, f"config file {config} not found")
    config.write_text("")
    fails(clawster("--profile", "local", "whoami", home=tmp_path, env=env), 8, "profile 'local' is not in")

    ok(clawster("--profile", "local", "login", "--user", user, home=tmp_path, env=env))  # creates the profile
    saved = tomllib.loads(config.read_text())
    assert config.stat().st_mode & 0o777 == 0o600
    assert saved["default_profile"] == "local"  # the first profile becomes the default
    profile = saved["profiles"]["local"]
    assert profile["api_url"] == stack.api_url
    assert jwt.decode(profile["token"], options={"verify_signature": False})["sub"] == user
    assert Client(stack.api_url, profile["token"]).get(f"/workspaces/{workspace}").ok(200)

    # Without the state dir the CLI knows no local stack: the profile alone says where and who.
    me = json.loads(ok(clawster("-o", "json", "whoami", home=tmp_path, env={"CLAWSTER_CONFIG": str(config)})).stdout)
    assert me["user"] == user and me["profile"] == "local"
    assert me["workspaces"] == [{"id": workspace, "name": "mine", "role": "OWNER"}]
    table = ok(clawster("whoami", home=tmp_path, env={"CLAWSTER_CONFIG": str(config)})).stdout
    assert f"USER        {user}" in table and f"{workspace}  mine  OWNER" in table


def test_profiles_choose_the_api_token_workspace_and_output(stack, tmp_path, new_user, client_for):
    alice, bob = new_user("alice"), new_user("bob")
    alices = client_for(alice).post("/workspaces", {"name": "alices"}).ok(201).body["id"]
    bobs = client_for(bob).post("/workspaces", {"name": "bobs"}).ok(201).body["id"]
    client_for(bob).post(f"/workspaces/{bobs}/fleets", {"name": "bobs-fleet"}).ok(201)
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "alice"\n'
        f'[profiles.alice]\napi_url = "{stack.api_url}"\ntoken = "{stack.issuer.issue(alice)}"\n'
        f'[profiles.bob]\napi_url = "{stack.api_url}"\ntoken = "{stack.issuer.issue(bob)}"\nworkspace = "{bobs}"\n'
        'output = "json"\n'
    )
    env = {"CLAWSTER_CONFIG": str(config)}
    as_alice = ok(clawster("workspace", "list", home=tmp_path, env=env)).stdout  # default profile, table
    assert alices in as_alice and bobs not in as_alice and as_alice.startswith("ID")
    as_bob = json.loads(ok(clawster("--profile", "bob", "fleet", "list", home=tmp_path, env=env)).stdout)
    assert [f["name"] for f in as_bob["items"]] == ["bobs-fleet"]  # bob's workspace, json, from the profile
    # An option beats the profile: bob's profile, alice's token.
    fails(clawster("fleet", "list", "--profile", "bob", "--token", stack.issuer.issue(alice), home=tmp_path, env=env),
          4, "404")
    # A profile's token is not sent to another API.
    fails(clawster("--profile", "bob", "--api-url", _free_url(), "fleet", "list", home=tmp_path, env=env), 3,
          "no token for")
    chosen_by_env = ok(clawster("workspace", "list", home=tmp_path, env={**env, "CLAWSTER_PROFILE": "bob"})).stdout
    assert bobs in json.dumps(json.loads(chosen_by_env))
