"""The local ARM stand-in (shared/clawster/local/cloud/azure.py) on its own: raw HTTPS requests, not the SDK, so it
cannot accept what ARM refuses just because the SDK never sends it. Expectations are ARM's documented behaviour
(the 2023-05-01 swagger, ARM's error format), written here by hand."""

from __future__ import annotations

import copy
import json
import ssl
import time
import urllib.error
import urllib.request

import pytest

from clawster.local.cloud.azure import AzureStandin
from clawster.local.cloud.container_host import ContainerHost
from tests.fakes.container_launcher import FakeLauncher

SUB, RG = "00000000-0000-0000-0000-000000000001", "rg"
GROUP_PATH = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerInstance/containerGroups/cg"
API = "?api-version=2023-05-01"
TOKEN_VALUE, KEY_VALUE = "tok-d41d8cd98f00b204", "key-9e107d9d372bb682"
SHARE_PATH = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/acct/"
              "fileServices/default/shares/cg-state?api-version=2023-01-01")


def good_body() -> dict:
    return {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "restartPolicy": "Always",
            "containers": [{"name": "gateway", "properties": {
                "image": "clawster-gateway:2026.9.6",
                "resources": {"requests": {"cpu": 1.0, "memoryInGB": 2.0}},
                "ports": [{"port": 18789, "protocol": "TCP"}],
                "environmentVariables": [{"name": "PLAIN", "value": "shown"},
                                         {"name": "OPENCLAW_GATEWAY_TOKEN", "secureValue": TOKEN_VALUE}],
                "volumeMounts": [{"name": "state", "mountPath": "/var/lib/openclaw"}]}}],
            "volumes": [{"name": "state", "azureFile": {"shareName": "cg-state", "storageAccountName": "acct",
                                                        "storageAccountKey": KEY_VALUE}}],
            "ipAddress": {"type": "Public", "ports": [{"port": 18789, "protocol": "TCP"}], "dnsNameLabel": "cg-label"},
        },
    }


@pytest.fixture
def arm(tmp_path):
    host = ContainerHost(tmp_path / "containers", FakeLauncher())
    standin = AzureStandin(host, settle_s=0.3)
    standin.start()
    standin.add_storage_account("acct", KEY_VALUE)
    yield standin
    standin.close()
    host.close()


def send(arm: AzureStandin, method: str, path: str, body=None, *, token: str | None = "t", raw: bytes | None = None):
    """(status, headers, parsed JSON or None), straight over HTTPS to the stand-in, trusting its CA only."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(arm.base_url + path, data=data, method=method, headers=headers)
    context = ssl.create_default_context(cafile=str(arm.ca_file))
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            text = answer.read()
            return answer.status, answer.headers, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, error.headers, json.loads(text) if text else None


def _drop(path: str):
    def change(body):
        *parents, last = _walk(path)
        target = body
        for part in parents:
            target = target[part]
        del target[last]
    return change


def _set(path: str, value):
    def change(body):
        *parents, last = _walk(path)
        target = body
        for part in parents:
            target = target[part]
        target[last] = value
    return change


def _walk(path: str) -> list:
    parts = []
    for piece in path.replace("]", "").split("."):
        name, *index = piece.split("[")
        parts.append(name)
        parts.extend(int(i) for i in index)
    return parts


C0 = "properties.containers[0].properties"
MALFORMED = [  # (what is wrong, change to a good body, ARM's error code, the property it names)
    ("no location", _drop("location"), "LocationRequired", "location"),
    ("no osType", _drop("properties.osType"), "InvalidRequestContent", "properties.osType"),
    ("no image", _drop(f"{C0}.image"), "InvalidRequestContent", f"{C0}.image"),
    ("no cpu", _drop(f"{C0}.resources.requests.cpu"), "InvalidRequestContent", f"{C0}.resources.requests.cpu"),
    ("memory as text", _set(f"{C0}.resources.requests.memoryInGB", "2"), "InvalidRequestContent",
     f"{C0}.resources.requests.memoryInGB"),
    ("value and secureValue", _set(f"{C0}.environmentVariables[1].value", "plain too"), "InvalidEnvironmentVariable",
     f"{C0}.environmentVariables[1]"),
    ("neither value nor secureValue", _drop(f"{C0}.environmentVariables[0].value"), "InvalidEnvironmentVariable",
     f"{C0}.environmentVariables[0]"),
    ("restart policy not in the enum", _set("properties.restartPolicy", "Sometimes"), "InvalidRequestContent",
     "properties.restartPolicy"),
    ("ip type not in the enum", _set("properties.ipAddress.type", "Internet"), "InvalidRequestContent",
     "properties.ipAddress.type"),
    ("ip without ports", _drop("properties.ipAddress.ports"), "InvalidRequestContent", "properties.ipAddress.ports"),
    ("ip port no container exposes", _set("properties.ipAddress.ports", [{"port": 80}]), "InvalidIpAddressPort",
     "properties.ipAddress.ports[0].port"),
    ("dns label on a private ip", _set("properties.ipAddress.type", "Private"), "DnsNameLabelNotSupportedForPrivateIp",
     "properties.ipAddress.dnsNameLabel"),
    ("share without shareName", _drop("properties.volumes[0].azureFile.shareName"), "InvalidRequestContent",
     "properties.volumes[0].azureFile.shareName"),
    ("mount of no volume", _set(f"{C0}.volumeMounts[0].name", "other"), "VolumeMountNotFound",
     f"{C0}.volumeMounts[0].name"),
    ("more cpu than a group has", _set(f"{C0}.resources.requests.cpu", 8), "InvalidContainerResourceRequests",
     f"{C0}.resources.requests"),
]


@pytest.mark.parametrize("what, change, code, target", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_container_group_is_refused_400_naming_the_property(arm, what, change, code, target):
    body = good_body()
    change(body)
    status, _, answer = send(arm, "PUT", GROUP_PATH + API, body)
    assert status == 400, answer
    assert answer["error"]["code"] == code
    assert answer["error"]["target"] == target
    assert f"Path '{target}'" in answer["error"]["message"]
    assert arm.host.names() == []  # nothing was run


def test_a_body_that_is_not_json_is_invalid_request_content(arm):
    status, _, answer = send(arm, "PUT", GROUP_PATH + API, raw=b"{not json")
    assert (status, answer["error"]["code"]) == (400, "InvalidRequestContent")


def test_no_bearer_token_is_401_and_the_api_version_is_required(arm):
    assert send(arm, "GET", GROUP_PATH + API, token=None)[0] == 401
    status, _, answer = send(arm, "GET", GROUP_PATH)
    assert (status, answer["error"]["code"]) == (400, "MissingApiVersionParameter")
    status, _, answer = send(arm, "GET", GROUP_PATH + "?api-version=2021-09-01")
    assert (status, answer["error"]["code"]) == (400, "InvalidApiVersionParameter")


def test_a_missing_group_is_404_resource_not_found_and_deleting_it_is_204(arm):
    status, _, answer = send(arm, "GET", GROUP_PATH + API)
    assert (status, answer["error"]["code"]) == (404, "ResourceNotFound")
    assert send(arm, "DELETE", GROUP_PATH + API)[0] == 204


def test_throttling_on_demand_is_429_with_retry_after_then_it_answers_again(arm):
    arm.fail_next(429, retry_after_s=7)
    status, headers, answer = send(arm, "GET", GROUP_PATH + API)
    assert (status, headers["Retry-After"], answer["error"]["code"]) == (429, "7", "TooManyRequests")
    assert send(arm, "GET", GROUP_PATH + API)[0] == 404


def _created(arm: AzureStandin) -> dict:
    assert send(arm, "PUT", SHARE_PATH, {"properties": {"shareQuota": 1}})[0] == 201
    status, headers, answer = send(arm, "PUT", GROUP_PATH + API, good_body())
    assert status == 201, answer
    return dict(headers)


def _until(arm: AzureStandin, done, timeout_s: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = send(arm, "GET", GROUP_PATH + API)[2]
        if done(answer):
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)


def test_a_put_is_a_long_running_operation_polled_at_its_azure_asyncoperation_url(arm):
    headers = _created(arm)
    operation = headers["Azure-AsyncOperation"]
    assert operation.startswith(arm.base_url + f"/subscriptions/{SUB}/providers/Microsoft.ContainerInstance/locations/")
    first = send(arm, "GET", operation[len(arm.base_url):])[2]
    assert first["status"] == "InProgress"  # settle_s has not passed
    deadline = time.monotonic() + 30
    while send(arm, "GET", operation[len(arm.base_url):])[2]["status"] != "Succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    group = _until(arm, lambda g: g["properties"]["containers"][0]["properties"]["instanceView"]["currentState"]
                   ["state"] == "Running")
    assert group["properties"]["provisioningState"] == "Succeeded"
    address = group["properties"]["ipAddress"]
    assert address["ip"] == "127.0.0.1" and address["fqdn"] == "cg-label.westeurope.azurecontainer.io"
    with urllib.request.urlopen(f"http://127.0.0.1:{address['ports'][0]['port']}/readyz", timeout=10) as ready:
        assert ready.status == 200  # the published port is the container's


def test_a_get_never_shows_a_secure_value_or_the_storage_key(arm):
    _created(arm)
    status, _, group = send(arm, "GET", GROUP_PATH + API)
    assert status == 200
    text = json.dumps(group)
    assert TOKEN_VALUE not in text and KEY_VALUE not in text
    variables = group["properties"]["containers"][0]["properties"]["environmentVariables"]
    assert variables == [{"name": "PLAIN", "value": "shown"}, {"name": "OPENCLAW_GATEWAY_TOKEN"}]
    # ...while the container itself sees it, as ACI gives it
    name = arm.host.names()[0]
    env = arm.host.launcher.launched[-1][2]
    assert name.endswith("cg.gateway") and env["OPENCLAW_GATEWAY_TOKEN"] == TOKEN_VALUE and env["PLAIN"] == "shown"


def test_a_share_that_does_not_exist_fails_the_deployment(arm):
    status, _, _ = send(arm, "PUT", GROUP_PATH + API, good_body())  # no share made first
    assert status == 201
    group = _until(arm, lambda g: g["properties"]["provisioningState"] != "Creating")
    assert group["properties"]["provisioningState"] == "Failed"
    assert "share 'cg-state' does not exist" in group["properties"]["instanceView"]["events"][0]["message"]
    assert arm.host.names() == []


def test_cpu_or_memory_cannot_change_in_place(arm):
    _created(arm)
    bigger = copy.deepcopy(good_body())
    bigger["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = 2.0
    status, _, answer = send(arm, "PUT", GROUP_PATH + API, bigger)
    assert (status, answer["error"]["code"]) == (400, "InvalidContainerGroupUpdate")
    assert "delete it first" in answer["error"]["message"]


def test_stop_start_and_delete_drive_the_container(arm):
    _created(arm)
    _until(arm, lambda g: g["properties"]["provisioningState"] == "Succeeded")
    assert send(arm, "POST", GROUP_PATH + "/stop" + API)[0] == 204
    stopped = send(arm, "GET", GROUP_PATH + API)[2]
    assert stopped["properties"]["instanceView"]["state"] == "Stopped" and "ip" not in stopped["properties"]["ipAddress"]
    assert arm.host.status(arm.host.names()[0]).state == "STOPPED"
    status, headers, _ = send(arm, "POST", GROUP_PATH + "/start" + API)
    assert status == 202 and "Azure-AsyncOperation" in headers
    assert send(arm, "POST", GROUP_PATH + "/start" + API)[0] == 204  # already running
    status, headers, _ = send(arm, "DELETE", GROUP_PATH + API)
    assert status == 202 and "Azure-AsyncOperation" in headers
    assert send(arm, "PUT", GROUP_PATH + API, good_body())[0] == 409  # while it is being deleted
    _until(arm, lambda g: g.get("error", {}).get("code") == "ResourceNotFound")
