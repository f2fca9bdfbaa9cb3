"""`clawster connector ...` against the test stack: the value comes from a file or stdin, never an argument,
and is never printed; a rotation is followed to its end."""

from __future__ import annotations

import json
import time

from tests.e2e.test_cli import cli  # noqa: F401  (the fixture)

KEY = "sk-" + "proj-" + "CliValue" + "q" * 30
NEW_KEY = "sk-" + "proj-" + "CliNewValue" + "r" * 30


def test_cli_creates_tests_rotates_and_deletes_a_connector_without_printing_the_value(cli, stack, new_user,  # noqa: F811
                                                                                       tmp_path):
    token = stack.issuer.issue(new_user("cli"))
    workspace = json.loads(cli("-o", "json", "workspace", "create", "cli-connectors", token=token).stdout)
    ws = ["--workspace", workspace["id"]]
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    runs = []

    created_run = cli("-o", "json", "connector", "create", "llm", "--kind", "openai", "--value-file", str(key_file),
                      *ws, token=token)
    runs.append(created_run)
    created = json.loads(created_run.stdout)
    assert created["reference"] == {"$secretRef": created["secret_name"]}
    runs.append(cli("connector", "list", *ws, token=token))
    assert created["id"] in runs[-1].stdout and "clawster/" in runs[-1].stdout
    runs.append(cli("-o", "json", "connector", "test", created["id"], *ws, token=token))
    assert json.loads(runs[-1].stdout)["result"] == "untested"
    runs.append(cli("-o", "json", "connector", "rename", created["id"], "llm-main", *ws, token=token))
    assert json.loads(runs[-1].stdout)["name"] == "llm-main"

    refused = cli("connector", "rotate", created["id"], "--value-file", "-", *ws, token=token, stdin="nope\n",
                  check=False)
    assert refused.returncode == 6 and "value" in refused.stderr and "nope" not in refused.stderr
    runs.append(cli("-o", "json", "connector", "rotate", created["id"], "--value-file", "-", *ws, token=token,
                    stdin=NEW_KEY + "\n"))
    rotation = json.loads(runs[-1].stdout)
    deadline = time.monotonic() + 300
    while rotation["status"] == "RUNNING":
        assert time.monotonic() < deadline, rotation
        time.sleep(0.5)  # polling interval only: the ceiling bounds the wait
        runs.append(cli("-o", "json", "connector", "rotation", created["id"], rotation["id"], *ws, token=token))
        rotation = json.loads(runs[-1].stdout)
    assert rotation["status"] == "SUCCEEDED", rotation
    current = stack._client("secretsmanager").get_secret_value(SecretId=created["secret_name"],
                                                               VersionStage="AWSCURRENT")
    assert current["SecretString"] == NEW_KEY  # the file's and stdin's trailing newline is not part of it

    runs.append(cli("connector", "delete", created["id"], *ws, token=token))
    assert not [r for r in runs if "CliValue" in r.stdout + r.stderr or "CliNewValue" in r.stdout + r.stderr]
