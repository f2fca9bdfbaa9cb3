"""A local stand-in for the Cloud Run Admin API (v2) and Secret Manager (v1), over plain HTTP on 127.0.0.1, serving
the paths and bodies the official clients send with transport="rest" (google-cloud-run 0.16.2,
google-cloud-secret-manager 2.32.0), answering as Google does, and running each service's container through a
ContainerHost (container_host.py).

    standin = GcpStandIn(host); url = standin.start()     # clients: ClientOptions(api_endpoint=url)
    standin.fail_next(429)                                # the next request: RESOURCE_EXHAUSTED, as a quota answers

What it keeps faithful:
- Bodies are checked against the API's own message descriptors (gcp_shape.py: unknown fields and wrong types
  refused with Google's wording) and then Cloud Run's rules (gcp_rules.py); errors are Google's JSON
  {"error": {"code", "message", "status", "details": [BadRequest fieldViolations]}}, with 404 NOT_FOUND, 409
  ALREADY_EXISTS (ABORTED on a stale etag), 429 RESOURCE_EXHAUSTED, 401 UNAUTHENTICATED.
- Every request must carry `Authorization: Bearer <token>`, as Google requires: the adapter's local mode sends a
  static token (any value is accepted: nothing here is a secret), so a client that forgets credentials fails here
  as it would on GCP. Anonymous credentials send none and are refused.
- create/update/delete answer a long-running operation; `GET /v2/{operation}` reports it done once the revision is
  Ready (container healthy) or failed, with the Service in `response` (or the failure in `error`).
- A template change makes a new revision: the container is relaunched with K_REVISION changed. Env secrets are
  resolved from this stand-in's own Secret Manager when the revision deploys (a missing secret fails the revision,
  as on Cloud Run). Service-level manual scaling to 0 stops the container (its state stays); deleting the service
  stops it and leaves its state, as the bucket keeps a Cloud Storage volume's files.
- Cloud Storage's JSON API lists and deletes a volume's objects (`GET /storage/v1/b/{bucket}/o?prefix=`, `DELETE
  .../o/{object}`): a service's state dir on the host stands for its volume's folder (`only-dir`), each file an
  object named `<only-dir>/state/<path>` (the image keeps its state under STATE_MOUNT/state). Any valid bucket
  name is taken to exist.
- Conditions follow the container: Ready while healthy, reconciling while it starts, failed with a message when it
  exited (or its image is not one the host has, as a failed pull).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from google.cloud import run_v2
from google.protobuf import json_format

from .gcp_rules import BUCKET, SERVICE_ID, service_problems
from .gcp_secrets import SecretManagerApi
from .gcp_shape import Answer, now, shape_errors

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
State = run_v2.Condition.State
OUTPUT_ONLY = ("uid", "generation", "create_time", "update_time", "delete_time", "expire_time", "creator",
               "last_modifier", "observed_generation", "terminal_condition", "conditions", "latest_ready_revision",
               "latest_created_revision", "traffic_statuses", "uri", "urls", "reconciling", "satisfies_pzs")
MANUAL = run_v2.ServiceScaling.ScalingMode.MANUAL
MAX_OPERATIONS = 5000  # a long-running local stack must not keep every operation it ever answered


@dataclass
class _Service:
    spec: run_v2.Service  # what was asked, with the output fields this stand-in keeps (name, uid, generation...)
    container: str  # its name on the ContainerHost
    revision: str = ""
    revisions: int = 0
    failure: str = ""  # why the latest revision could not deploy (e.g. a secret missing)
    ready_revision: str = ""
    uri: str = ""
    condition: tuple[int, str] = field(default_factory=lambda: (State.CONDITION_RECONCILING, now()))  # (state, since)


@dataclass
class _Operation:
    name: str
    service: str
    kind: str  # create | update | delete
    generation: int
    snapshot: dict = field(default_factory=dict)  # a deleted service, as it was


class GcpStandIn(SecretManagerApi):
    def __init__(self, host, *, project_numbers: dict[str, str] | None = None):
        self.host = host
        self.requests: deque[tuple[str, str]] = deque(maxlen=2000)  # (method, path), the latest: what was polled
        self._numbers = dict(project_numbers or {})
        self._services: dict[str, _Service] = {}
        self._operations: OrderedDict[str, _Operation] = OrderedDict()  # the latest MAX_OPERATIONS, as Google expires them
        self._secrets = {}  # Secret Manager's (gcp_secrets.py)
        self._volumes: dict[tuple[str, str], str] = {}  # (bucket, only-dir) -> the container whose state it is
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- life -------------------------------------------------------------------------------------------------------
    def start(self) -> str:
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="gcp-standin", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, code: int = 429, *, count: int = 1, message: str = "") -> None:
        """The next `count` requests answer `code` (429: a quota's RESOURCE_EXHAUSTED; 503: UNAVAILABLE)."""
        text = message or {429: "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
                                "minute per region' of service 'run.googleapis.com'.",
                           503: "The service is currently unavailable."}.get(code, "injected failure")
        with self._lock:
            self._failures += [(code, text)] * count

    # -- dispatch ---------------------------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers, raw: bytes) -> tuple[int, dict]:
        split = urlsplit(target)
        path, query = unquote(split.path), {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append((method, path))
            try:
                if not re.match(r"^Bearer \S+$", headers.get("Authorization") or ""):
                    raise Answer(401, "Request is missing required authentication credential. Expected OAuth 2 access "
                                      "token, login cookie or other valid authentication credential.")
                if self._failures:
                    code, text = self._failures.pop(0)
                    raise Answer(code, text)
                return 200, self._route(method, path, query, raw)
            except Answer as answer:
                return answer.code, answer.body()

    def _route(self, method: str, path: str, query: dict, raw: bytes) -> dict:
        for verb, pattern, action, params in self._ROUTES:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                unknown = set(query) - {"$alt", *params}
                if unknown:
                    name = sorted(unknown)[0]
                    raise Answer(400, f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                                      f"parameter. Field '{name}' could not be found in request message.")
                return getattr(self, action)(*match.groups(), query=query, body=_json(raw) if raw else None)
        raise Answer(404, "Method not found.")

    _ROUTES = (
        ("POST", r"/v2/projects/([^/]+)/locations/([^/]+)/services", "_create_service", ("serviceId",)),
        ("GET", r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+)", "_get_service", ()),
        ("PATCH", r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+)", "_update_service", ("allowMissing",)),
        ("DELETE", r"/v2/(projects/[^/]+/locations/[^/]+/services/[^/:]+)", "_delete_service", ("etag",)),
        ("GET", r"/v2/(projects/[^/]+/locations/[^/]+/operations/[^/:]+)", "_get_operation", ()),
        ("POST", r"/v1/projects/([^/]+)/secrets", "_create_secret", ("secretId",)),
        ("GET", r"/v1/projects/([^/]+)/secrets/([^/:]+)", "_get_secret", ()),
        ("DELETE", r"/v1/projects/([^/]+)/secrets/([^/:]+)", "_delete_secret", ("etag",)),
        ("POST", r"/v1/projects/([^/]+)/secrets/([^/:]+):addVersion", "_add_version", ()),
        ("GET", r"/v1/projects/([^/]+)/secrets/([^/:]+)/versions/([^/:]+):access", "_access", ()),
        ("GET", r"/storage/v1/b/([^/]+)/o", "_list_objects", ("prefix", "pageToken", "maxResults", "fields")),
        ("DELETE", r"/storage/v1/b/([^/]+)/o/(.+)", "_delete_object", ()),
    )

    # -- Cloud Run services -----------------------------------------------------------------------------------------
    def _create_service(self, project: str, location: str, *, query: dict, body: dict | None) -> dict:
        service_id = query.get("serviceId", "")
        if not SERVICE_ID.match(service_id):
            raise Answer(400, "service_id must be 1-49 characters: lowercase letters, digits and hyphens, beginning "
                              "with a letter and not ending with a hyphen", [("service_id", "invalid")])
        name = f"projects/{project}/locations/{location}/services/{service_id}"
        spec = _parse_service(body)
        if name in self._services:
            raise Answer(409, f"Resource '{service_id}' already exists.")
        spec.name, spec.uid, spec.generation, spec.etag = name, str(uuid.uuid4()), 1, ""
        spec.create_time = spec.update_time = now()
        spec.creator = spec.last_modifier = "clawster-local@stand-in"
        record = _Service(spec, f"cloudrun.{project}.{location}.{service_id}")
        self._services[name] = record
        self._deploy(record, new_revision=True)
        return self._operation(record, "create")

    def _get_service(self, name: str, *, query: dict, body: dict | None) -> dict:
        return self._render(self._service(name))

    def _update_service(self, name: str, *, query: dict, body: dict | None) -> dict:
        if name not in self._services:
            if query.get("allowMissing") == "true":
                project, location, service_id = name.split("/")[1::2]
                return self._create_service(project, location, query={"serviceId": service_id}, body=body)
            self._service(name)
        record = self._services[name]
        spec = _parse_service(body)
        if spec.etag and spec.etag != _etag(record.spec):
            raise Answer(409, "The service was modified since it was read (etag mismatch).", status="ABORTED")
        spec.etag = ""
        new_revision = spec.template != record.spec.template
        for kept in ("name", "uid", "create_time", "creator"):
            setattr(spec, kept, getattr(record.spec, kept))
        spec.generation, spec.update_time = record.spec.generation + 1, now()
        record.spec = spec
        self._deploy(record, new_revision=new_revision)
        return self._operation(record, "update")

    def _delete_service(self, name: str, *, query: dict, body: dict | None) -> dict:
        record = self._service(name)
        snapshot = self._render(record)
        del self._services[name]
        self.host.stop(record.container)  # its volume's files stay, as in the bucket
        operation = self._operation(record, "delete")
        self._operations[operation["name"]].snapshot = snapshot
        return operation

    def _get_operation(self, name: str, *, query: dict, body: dict | None) -> dict:
        operation = self._operations.get(name)
        if operation is None:
            raise Answer(404, f"Operation {name} not found.")
        return self._render_operation(operation)

    def _service(self, name: str) -> _Service:
        record = self._services.get(name)
        if record is None:
            project, location, service_id = name.split("/")[1::2]
            raise Answer(404, f"Resource '{service_id}' of kind 'SERVICE' in region '{location}' in project "
                              f"'{project}' does not exist.")
        return record

    def _deploy(self, record: _Service, *, new_revision: bool) -> None:
        """Make the container match the service: a new revision relaunches it (K_REVISION changes), scaling to 0
        stops it, anything else keeps it."""
        spec = record.spec
        if new_revision:
            record.revisions += 1
            suffix = hashlib.sha256(f"{spec.uid}{record.revisions}".encode()).hexdigest()[:3]
            record.revision = spec.template.revision or f"{spec.name.rsplit('/', 1)[1]}-{record.revisions:05d}-{suffix}"
            record.failure = ""
        container = spec.template.containers[0]
        port = container.ports[0].container_port if container.ports and container.ports[0].container_port else 8080
        try:
            env = {item.name: item.value if "value_source" not in item else self._secret_value(spec, item)
                   for item in container.env}
        except Answer as missing:  # Cloud Run deploys the revision and it fails; the old one keeps serving
            record.failure = f"Revision '{record.revision}' is not ready and cannot serve traffic. {missing.message}"
            return
        for volume in spec.template.volumes:
            if "gcs" in volume:
                folder = next((o[len("only-dir="):].strip("/") for o in volume.gcs.mount_options
                               if o.startswith("only-dir=")), "")
                self._volumes[(volume.gcs.bucket, folder)] = record.container
        env |= {"PORT": str(port), "K_SERVICE": spec.name.rsplit("/", 1)[1], "K_REVISION": record.revision,
                "K_CONFIGURATION": spec.name.rsplit("/", 1)[1]}
        if "manual_instance_count" in spec.scaling and spec.scaling.manual_instance_count == 0:
            self.host.stop(record.container)
        else:
            self.host.run(record.container, container.image, env)

    def _secret_value(self, spec: run_v2.Service, item: run_v2.EnvVar) -> str:
        ref = item.value_source.secret_key_ref
        project = spec.name.split("/")[1]
        secret = ref.secret if ref.secret.startswith("projects/") else f"projects/{project}/secrets/{ref.secret}"
        _, project, _, secret_id = secret.split("/")[:4]
        return self._version(project, secret_id, ref.version or "latest", f" (env {item.name})")[1].decode()

    def _observe(self, record: _Service) -> tuple[int, str]:
        """The Ready condition now, from the revision and its container."""
        spec = record.spec
        if record.failure:
            return State.CONDITION_FAILED, record.failure
        if "manual_instance_count" in spec.scaling and spec.scaling.manual_instance_count == 0:
            return State.CONDITION_SUCCEEDED, ""  # deployed; no instance asked for
        status = self.host.status(record.container)
        if status is None:
            return State.CONDITION_RECONCILING, "Deploying revision."
        if status.port:
            record.uri = f"http://{status.host}:{status.port}"
        if status.state == "RUNNING" and status.healthy:
            record.ready_revision = record.revision
            return State.CONDITION_SUCCEEDED, ""
        if status.state == "EXITED":
            image = spec.template.containers[0].image
            if "pull" in status.detail.lower():
                return State.CONDITION_FAILED, (f"Revision '{record.revision}' is not ready and cannot serve traffic. "
                                                f"Image '{image}' not found. {status.detail}")
            return State.CONDITION_FAILED, (
                f"Revision '{record.revision}' is not ready and cannot serve traffic. The user-provided container "
                f"failed to start and listen on the port defined by the PORT environment variable "
                f"(exit code {status.exit_code}, {status.restarts} restarts): {status.detail}")
        return State.CONDITION_RECONCILING, f"Revision '{record.revision}' is starting: {status.detail}"

    def _render(self, record: _Service) -> dict:
        state, message = self._observe(record)
        if state != record.condition[0]:
            record.condition = (state, now())
        since = record.condition[1]
        shown = run_v2.Service.deserialize(run_v2.Service.serialize(record.spec))
        shown.observed_generation = record.spec.generation
        shown.terminal_condition = run_v2.Condition(type_="Ready", state=state, message=message,
                                                    last_transition_time=since)
        shown.conditions = [run_v2.Condition(type_=kind, state=state, last_transition_time=since)
                            for kind in ("RoutesReady", "ConfigurationsReady")]
        shown.latest_created_revision = f"{record.spec.name}/revisions/{record.revision}"
        if record.ready_revision:
            shown.latest_ready_revision = f"{record.spec.name}/revisions/{record.ready_revision}"
        shown.reconciling = state == State.CONDITION_RECONCILING
        if record.uri:
            shown.uri, shown.urls = record.uri, [record.uri]
        shown.etag = _etag(record.spec)
        return _dict(shown)

    def _operation(self, record: _Service, kind: str) -> dict:
        location = record.spec.name.split("/")[3]
        name = f"projects/{record.spec.name.split('/')[1]}/locations/{location}/operations/{uuid.uuid4()}"
        self._operations[name] = _Operation(name, record.spec.name, kind, record.spec.generation)
        while len(self._operations) > MAX_OPERATIONS:
            self._operations.popitem(last=False)
        return self._render_operation(self._operations[name])

    def _render_operation(self, operation: _Operation) -> dict:
        record = self._services.get(operation.service)
        if operation.kind == "delete" or record is None:
            shown = operation.snapshot or {"name": operation.service}
            return {"name": operation.name, "metadata": {"@type": SERVICE_TYPE, **shown}, "done": True,
                    "response": {"@type": SERVICE_TYPE, **shown}}
        shown = self._render(record)
        answer = {"name": operation.name, "metadata": {"@type": SERVICE_TYPE, **shown}}
        state = shown["terminalCondition"]["state"]
        if record.spec.generation > operation.generation or state == State.CONDITION_SUCCEEDED:
            return {**answer, "done": True, "response": {"@type": SERVICE_TYPE, **shown}}
        if state == State.CONDITION_FAILED:
            return {**answer, "done": True, "error": {"code": 9, "message": shown["terminalCondition"]["message"]}}
        return {**answer, "done": False}

    # -- Cloud Storage: the volumes' files ------------------------------------------------------------------------
    def _objects(self, bucket: str) -> dict[str, Path]:
        objects = {}
        for (volume_bucket, folder), container in self._volumes.items():
            root = self.host.root / container / "state"  # where ContainerHost keeps that container's state
            if volume_bucket == bucket and root.is_dir():
                for path in sorted(root.rglob("*")):
                    if path.is_file():
                        objects[f"{folder}/state/{path.relative_to(root).as_posix()}".lstrip("/")] = path
        return objects

    def _list_objects(self, bucket: str, *, query: dict, body: dict | None) -> dict:
        if not BUCKET.match(bucket):
            raise Answer(400, f"Invalid bucket name: '{bucket}'")
        prefix = query.get("prefix", "")
        items = [{"kind": "storage#object", "bucket": bucket, "name": name, "size": str(path.stat().st_size)}
                 for name, path in self._objects(bucket).items() if name.startswith(prefix)]
        return {"kind": "storage#objects", "items": items} if items else {"kind": "storage#objects"}

    def _delete_object(self, bucket: str, name: str, *, query: dict, body: dict | None) -> dict:
        path = self._objects(bucket).get(name)
        if path is None:
            raise Answer(404, "No such object: " + f"{bucket}/{name}")
        path.unlink()
        return {}


class _Handler(BaseHTTPRequestHandler):
    standin: GcpStandIn
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code, body = self.standin.handle(self.command, self.path, self.headers, raw)
        if code == 200 and self.command == "DELETE" and self.path.startswith("/storage/"):
            code = 204  # Cloud Storage answers a deleted object with no content
        data = b"" if code == 204 else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


def _json(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except ValueError:
        raise Answer(400, "Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict):
        raise Answer(400, "Invalid JSON payload received. Expected an object.")
    return body


def _parse_service(body: dict | None) -> run_v2.Service:
    body = body if body is not None else {}
    problems = shape_errors(body, run_v2.Service.pb(run_v2.Service()).DESCRIPTOR, "service")
    if problems:
        raise Answer(400, problems[0][1], problems)
    try:
        spec = run_v2.Service.wrap(json_format.ParseDict(body, run_v2.Service.pb(run_v2.Service())))
    except json_format.ParseError as error:  # anything the shape check let through that protobuf still refuses
        raise Answer(400, f"Invalid JSON payload received. {error}", [("service", str(error))]) from None
    for name in OUTPUT_ONLY:  # output only: Google ignores them in a request
        spec._pb.ClearField(name)
    problems = service_problems(spec)
    if problems:
        raise Answer(400, "; ".join(f"{where}: {why}" for where, why in problems), problems)
    return spec


def _etag(spec: run_v2.Service) -> str:
    return '"' + hashlib.sha256(run_v2.Service.serialize(spec)).hexdigest()[:16] + '"'


def _dict(service: run_v2.Service) -> dict:
    return json_format.MessageToDict(run_v2.Service.pb(service), use_integers_for_enums=True)
