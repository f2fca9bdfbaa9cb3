"""The Cloud Run and Secret Manager stand-in (clawster.local.cloud.gcp) on its own: malformed bodies sent raw (not
through the SDK) are refused with Google's 400 naming the field, long-running operations are polled until the
container is ready, secrets reach the container as Cloud Run resolves them, and the errors are Google's.

Every expected field path and status below is written by hand from Google's API reference, not read from the
stand-in's tables."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, secretmanager_v1
from google.oauth2.credentials import Credentials

from clawster.local.cloud.container_host import ContainerHost
from clawster.local.cloud.gcp import GcpStandIn
from tests.fakes.container_launcher import FakeLauncher

PARENT = "projects/demo-project/locations/europe-west1"
TOKEN = [run_v2.EnvVar(name="OPENCLAW_GATEWAY_TOKEN", value="t0ken")]  # the gateway exits 78 without one
AUTH = {"Authorization": "Bearer any-token", "Content-Type": "application/json"}


class GatedLauncher(FakeLauncher):
    """FakeLauncher whose containers answer nowhere until `gate` is set: a revision that is still starting."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def launch(self, *args, **kwargs):
        return _Gated(super().launch(*args, **kwargs), self.gate)


class _Gated:
    def __init__(self, run, gate: threading.Event):
        self._run, self._gate = run, gate
        with socket.socket() as s:  # a port nothing listens on, until the gate opens
            s.bind(("127.0.0.1", 0))
            self._closed_port = s.getsockname()[1]

    @property
    def port(self) -> int:
        return self._run.port if self._gate.is_set() else self._closed_port

    def __getattr__(self, name):
        return getattr(self._run, name)


@pytest.fixture
def launcher():
    return GatedLauncher()


@pytest.fixture
def standin(tmp_path, launcher):
    host = ContainerHost(tmp_path / "containers", launcher, supervise_interval_s=0.1)
    standin = GcpStandIn(host)
    standin.url = standin.start()
    yield standin
    standin.close()
    host.close()


def raw(standin, method: str, path: str, body=None, headers=AUTH) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(standin.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def clients(standin, credentials=None):
    options = {"transport": "rest", "credentials": credentials or Credentials("any-token"),
               "client_options": ClientOptions(api_endpoint=standin.url)}
    return run_v2.ServicesClient(**options), secretmanager_v1.SecretManagerServiceClient(**options)


def a_service(**container) -> dict:
    """A minimal valid Service body in the REST form (camelCase, enums as integers)."""
    return {"template": {"containers": [{"image": "clawster-gateway:2026.9.6", "ports": [{"containerPort": 18789}],
                                         **container}]}}


def put_secret(secrets, secret_id: str, value: bytes) -> None:
    secrets.create_secret(parent="projects/demo-project", secret_id=secret_id, secret=secretmanager_v1.Secret(
        replication=secretmanager_v1.Replication(automatic=secretmanager_v1.Replication.Automatic())))
    secrets.add_secret_version(parent=f"projects/demo-project/secrets/{secret_id}",
                               payload=secretmanager_v1.SecretPayload(data=value))


# (what is wrong, body, the field Google names, a word its message must hold): by hand, from the API reference.
MALFORMED = [
    ("unknown field", {"template": {"containers": [{"imagee": "x"}]}}, "service.template.containers[0]", "imagee"),
    ("unknown top-level field", {**a_service(), "replicas": 1}, "service", "replicas"),
    ("a string for an int", a_service(ports=[{"containerPort": "http"}]),
     "service.template.containers[0].ports[0].container_port", "TYPE_INT32"),
    ("an object for a list", {"template": {"containers": {"image": "x"}}}, "service.template.containers", "list"),
    ("an unknown enum name", {**a_service(), "ingress": "INGRESS_TRAFFIC_EVERYWHERE"}, "service.ingress",
     "IngressTraffic"),
    ("an enum number out of range", {**a_service(), "ingress": 9}, "service.ingress", "IngressTraffic"),
    ("a bool as a string", {**a_service(), "invokerIamDisabled": "yes"}, "service.invoker_iam_disabled", "TYPE_BOOL"),
    ("no container", {"template": {}}, "service.template.containers", "required"),
    ("no image", {"template": {"containers": [{"ports": [{"containerPort": 8080}]}]}},
     "service.template.containers[0].image", "required"),
    ("PORT is Cloud Run's", a_service(env=[{"name": "PORT", "value": "1"}]), "service.template.containers[0].env[0].name",
     "reserved"),
    ("value and a secret at once", a_service(env=[{"name": "A", "value": "1", "valueSource": {
        "secretKeyRef": {"secret": "s", "version": "latest"}}}]), "service.template.containers[0].env[0]", "exclusive"),
    ("memory beyond one CPU", a_service(resources={"limits": {"cpu": "1", "memory": "8Gi"}}),
     "service.template.containers[0].resources.limits.memory", "8Gi"),
    ("a CPU count Cloud Run has not", a_service(resources={"limits": {"cpu": "3", "memory": "2Gi"}}),
     "service.template.containers[0].resources.limits.cpu", "3"),
    ("a mount of no volume", a_service(volumeMounts=[{"name": "state", "mountPath": "/var/lib/openclaw"}]),
     "service.template.containers[0].volume_mounts[0].name", "state"),
    ("a bucket name GCS refuses", {"template": {**a_service()["template"], "volumes": [
        {"name": "state", "gcs": {"bucket": "Bad_Bucket"}}]}}, "service.template.volumes[0].gcs.bucket", "Bad_Bucket"),
    ("manual scaling without a count", {**a_service(), "scaling": {"scalingMode": 2}},
     "service.scaling.manual_instance_count", "MANUAL"),
    ("min above max", {"template": {**a_service()["template"], "scaling": {"minInstanceCount": 2,
                                                                           "maxInstanceCount": 1}}},
     "service.template.scaling.min_instance_count", "max"),
    ("a reserved annotation", {**a_service(), "annotations": {"run.googleapis.com/ingress": "all"}},
     "service.annotations[run.googleapis.com/ingress]", "not supported"),
]


@pytest.mark.parametrize(("what", "body", "field", "word"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_service_sent_raw_is_refused_with_a_400_naming_the_field(standin, what, body, field, word):
    status, answer = raw(standin, "POST", f"/v2/{PARENT}/services?serviceId=bot-1", body)
    assert status == 400, answer
    error = answer["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    violations = error["details"][0]["fieldViolations"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert field in [v["field"] for v in violations], violations
    assert word in error["message"] + json.dumps(violations)
    assert raw(standin, "GET", f"/v2/{PARENT}/services/bot-1")[0] == 404  # nothing was created


@pytest.mark.parametrize(("path", "body", "word"), [
    (f"/v2/{PARENT}/services?serviceId=Bot-1", a_service(), "service_id"),  # uppercase
    (f"/v2/{PARENT}/services?serviceId=1bot", a_service(), "service_id"),  # a digit first
    (f"/v2/{PARENT}/services?serviceId={'b' * 50}", a_service(), "service_id"),  # 50 > 49
    (f"/v2/{PARENT}/services?serviceId=bot-2&validate=true", a_service(), "validate"),  # no such query parameter
    ("/v1/projects/demo-project/secrets?secretId=s1", {"labels": {"a": "b"}}, "replication"),
    ("/v1/projects/demo-project/secrets?secretId=s1", {"replication": {"automatic": {}}, "ttl": 5}, "ttl"),
    ("/v1/projects/demo-project/secrets?secretId=bad%20id", {"replication": {"automatic": {}}}, "secret_id"),
])
def test_requests_google_refuses_are_refused(standin, path, body, word):
    status, answer = raw(standin, "POST", path, body)
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT", answer
    assert word in json.dumps(answer)


def test_a_secret_version_without_data_and_a_body_that_is_not_json_are_refused(standin):
    assert raw(standin, "POST", "/v1/projects/demo-project/secrets?secretId=s1", {"replication": {"automatic": {}}})[0] == 200
    status, answer = raw(standin, "POST", "/v1/projects/demo-project/secrets/s1:addVersion", {"payload": {}})
    assert status == 400 and "payload.data" in json.dumps(answer)
    status, answer = raw(standin, "POST", "/v1/projects/demo-project/secrets/s1:addVersion", {"payload": {"data": "@@"}})
    assert status == 400 and "payload.data" in json.dumps(answer)  # not base64
    status, answer = raw(standin, "POST", f"/v2/{PARENT}/services?serviceId=bot-1", b"{not json")
    assert status == 400 and answer["error"]["status"] == "INVALID_ARGUMENT"


def test_every_request_needs_a_bearer_token_as_google_does(standin):
    status, answer = raw(standin, "GET", f"/v2/{PARENT}/services/bot-1", headers={})
    assert status == 401 and answer["error"]["status"] == "UNAUTHENTICATED"
    services, _ = clients(standin, AnonymousCredentials())  # sends no Authorization header
    from google.api_core import exceptions
    from google.auth import exceptions as auth

    with pytest.raises((exceptions.Unauthorized, auth.InvalidOperation)):  # the 401, or the refresh it asks for
        services.get_service(name=f"{PARENT}/services/bot-1")


def test_missing_existing_and_throttled_answer_as_google_does(standin, launcher):
    launcher.gate.set()
    services, _ = clients(standin)
    from google.api_core import exceptions

    with pytest.raises(exceptions.NotFound):
        services.get_service(name=f"{PARENT}/services/bot-1")
    service = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image="gw:2026.9.6", env=TOKEN)]))
    services.create_service(parent=PARENT, service=service, service_id="bot-1")
    status, answer = raw(standin, "POST", f"/v2/{PARENT}/services?serviceId=bot-1", a_service())
    assert (status, answer["error"]["status"]) == (409, "ALREADY_EXISTS")
    standin.fail_next(429)
    status, answer = raw(standin, "GET", f"/v2/{PARENT}/services/bot-1")
    assert (status, answer["error"]["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert raw(standin, "GET", f"/v2/{PARENT}/services/bot-1")[0] == 200  # only the next one
    stale = services.get_service(name=f"{PARENT}/services/bot-1")
    services.update_service(service=run_v2.Service(stale, labels={"a": "b"})).result(timeout=30)
    stale.labels["c"] = "d"
    with pytest.raises(exceptions.Conflict) as conflict:  # the etag it was read at is stale
        services.update_service(service=stale)
    assert "ABORTED" in str(conflict.value.response.json())


def test_the_operation_is_polled_until_the_revision_is_ready(standin, launcher):
    services, secrets = clients(standin)
    put_secret(secrets, "bot-1-token", b"s3cret-token")
    body = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(
        image="clawster-gateway:2026.9.6", ports=[run_v2.ContainerPort(container_port=18789)],
        env=[run_v2.EnvVar(name="OPENCLAW_GATEWAY_TOKEN", value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret="bot-1-token", version="latest")))])]))
    operation = services.create_service(parent=PARENT, service=body, service_id="bot-1")
    assert not operation.done()  # the container does not answer yet: reconciling
    starting = services.get_service(name=f"{PARENT}/services/bot-1")
    assert starting.reconciling and starting.terminal_condition.state == run_v2.Condition.State.CONDITION_RECONCILING
    launcher.gate.set()
    service = operation.result(timeout=60)
    assert service.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert service.uri.startswith("http://127.0.0.1:") and service.latest_ready_revision.endswith("-00001-" +
                                                                                                  service.latest_ready_revision[-3:])
    polls = [path for method, path in standin.requests if method == "GET" and "/operations/" in path]
    assert len(polls) >= 2 and polls[0] == "/v2/" + operation.operation.name
    name, version, env = launcher.launched[-1]
    assert env["OPENCLAW_GATEWAY_TOKEN"] == "s3cret-token"  # resolved from Secret Manager when the revision deployed
    assert (env["PORT"], env["K_SERVICE"]) == ("18789", "bot-1") and version == "2026.9.6"


def test_a_template_change_is_a_new_revision_and_scaling_to_zero_stops_the_container(standin, launcher):
    launcher.gate.set()
    services, _ = clients(standin)
    body = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image="gw:2026.9.6", env=TOKEN)]),
                          scaling=run_v2.ServiceScaling(scaling_mode=2, manual_instance_count=1))
    services.create_service(parent=PARENT, service=body, service_id="bot-1").result(timeout=60)
    service = services.get_service(name=f"{PARENT}/services/bot-1")
    service.labels["only"] = "labels"  # not the template: the same revision, the same process
    services.update_service(service=service).result(timeout=60)
    assert len(launcher.launched) == 1
    service = services.get_service(name=f"{PARENT}/services/bot-1")
    service.template.annotations["clawster.dev/restart"] = "r1"
    services.update_service(service=service).result(timeout=60)
    revisions = [env["K_REVISION"] for _, _, env in launcher.launched]
    assert len(revisions) == 2 and revisions[0] != revisions[1]
    service = services.get_service(name=f"{PARENT}/services/bot-1")
    service.scaling.manual_instance_count = 0
    services.update_service(service=service).result(timeout=60)
    assert standin.host.status("cloudrun.demo-project.europe-west1.bot-1").state == "STOPPED"


def test_a_revision_whose_secret_is_missing_or_image_unknown_fails_with_why(standin, launcher):
    launcher.gate.set()
    services, _ = clients(standin)
    missing = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(
        image="gw:2026.9.6", env=[run_v2.EnvVar(name="T", value_source=run_v2.EnvVarSource(
            secret_key_ref=run_v2.SecretKeySelector(secret="nowhere", version="latest")))])]))
    operation = services.create_service(parent=PARENT, service=missing, service_id="bot-1")
    from google.api_core import exceptions

    with pytest.raises(exceptions.GoogleAPICallError, match="nowhere"):
        operation.result(timeout=60)
    failed = services.get_service(name=f"{PARENT}/services/bot-1")
    assert failed.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
    unknown = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image="gw:1999.1.1",
                                                                                           env=TOKEN)]))
    services.create_service(parent=PARENT, service=unknown, service_id="bot-2")
    deadline = time.monotonic() + 60
    while (seen := services.get_service(name=f"{PARENT}/services/bot-2")).terminal_condition.state != 3:
        assert time.monotonic() < deadline, seen.terminal_condition
        time.sleep(0.1)
    assert "gw:1999.1.1" in seen.terminal_condition.message


def test_secret_manager_keeps_versions_and_answers_missing_ones_404(standin):
    _, secrets = clients(standin)
    put_secret(secrets, "s1", b"one")
    secrets.add_secret_version(parent="projects/demo-project/secrets/s1",
                               payload=secretmanager_v1.SecretPayload(data=b"two"))
    assert secrets.access_secret_version(name="projects/demo-project/secrets/s1/versions/latest").payload.data == b"two"
    assert secrets.access_secret_version(name="projects/demo-project/secrets/s1/versions/1").payload.data == b"one"
    from google.api_core import exceptions

    with pytest.raises(exceptions.Conflict):
        put_secret(secrets, "s1", b"again")
    secrets.delete_secret(name="projects/demo-project/secrets/s1")
    with pytest.raises(exceptions.NotFound):
        secrets.access_secret_version(name="projects/demo-project/secrets/s1/versions/latest")
