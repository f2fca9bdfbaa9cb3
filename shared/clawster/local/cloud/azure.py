"""A local Azure Resource Manager for Container Instances (api-version 2023-05-01) and the Azure Files shares they
mount (Microsoft.Storage 2023-01-01), answering what azure-mgmt-containerinstance 10.1.0 and azure-mgmt-core send.

    standin = AzureStandin(ContainerHost(root))
    url = standin.start()          # https://127.0.0.1:<port>; clients trust standin.ca_file (connection_verify)
    standin.add_storage_account("acct", "key")   # shares live in accounts ARM already has
    standin.fail_next(429, retry_after_s=3)       # the next request is throttled, as ARM does

Served over TLS with a self-signed CA made at start: Azure's bearer-token policy refuses plain HTTP, and TLS keeps
the client's production path (no per-call `enforce_https=False` to forget in shipped code).

Like ARM it wants a bearer token and the api-version; refuses a malformed container group with ARM's error JSON
naming the property (azure_schema.py); answers 404 ResourceNotFound, 409 Conflict, 429 with Retry-After; runs each
group's containers on the ContainerHost (env = plain values + secureValues as the container sees them); and never
echoes a secureValue or a storage key in a GET. A share is modelled as the state dir of the containers that mount
it: deleting a group keeps it, deleting the share removes it.
"""

from __future__ import annotations

import datetime
import ipaddress
import itertools
import json
import re
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .azure_schema import ArmRefusal, check_container_group
from .container_host import ContainerHost

ACI_API = "2023-05-01"
STORAGE_API = "2023-01-01"
_SUB = r"/subscriptions/(?P<sub>[^/]+)"
_RG = _SUB + r"/resourceGroups/(?P<rg>[^/]+)"
_GROUP = _RG + r"/providers/Microsoft\.ContainerInstance/containerGroups/(?P<name>[^/]+)"
ROUTES = [  # (method, pattern, handler name, api-version)
    ("GET", _GROUP + r"$", "get_group", ACI_API),
    ("PUT", _GROUP + r"$", "put_group", ACI_API),
    ("DELETE", _GROUP + r"$", "delete_group", ACI_API),
    ("POST", _GROUP + r"/(?P<action>start|stop|restart)$", "act", ACI_API),
    ("GET", _GROUP + r"/containers/(?P<container>[^/]+)/logs$", "logs", ACI_API),
    ("GET", _SUB + r"/providers/Microsoft\.ContainerInstance/locations/(?P<loc>[^/]+)/operations/(?P<op>[^/]+)$",
     "operation", ACI_API),
    ("PUT", _RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)/fileServices/default/shares/"
            r"(?P<share>[^/]+)$", "put_share", STORAGE_API),
    ("GET", _RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)/fileServices/default/shares/"
            r"(?P<share>[^/]+)$", "get_share", STORAGE_API),
    ("DELETE", _RG + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)/fileServices/default/shares/"
               r"(?P<share>[^/]+)$", "delete_share", STORAGE_API),
]
# Properties ACI cannot change in place: a PUT changing them is refused until the group is deleted.
_FIXED = ("osType", "restartPolicy", "subnetIds")
_UPDATE_REFUSED = ("The updates on container group '{name}' are invalid. If you are going to update the os type, "
                   "restart policy, network profile, CPU, memory or GPU resources for a container group, you must "
                   "delete it first and then create a new one.")
_SHARE_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, target: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.headers, self.target = status, code, message, headers or {}, target


@dataclass
class _Group:
    sub: str
    rg: str
    name: str
    body: dict  # as PUT, secrets included (what ARM keeps; never served)
    phase: str  # Creating, Updating, Deleting: until settle_at; then Succeeded/Failed
    settle_at: float
    failure: str = ""  # why provisioning failed (a mount, a pull)
    stopped: bool = False

    @property
    def id(self) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/Microsoft.ContainerInstance/"
                f"containerGroups/{self.name}")

    @property
    def props(self) -> dict:
        return self.body["properties"]

    def host_name(self, container: str) -> str:
        return f"aci.{self.rg}.{self.name}.{container}".lower()


@dataclass
class _Op:
    group: tuple[str, str, str]
    done_at: float
    kind: str  # create, start, delete


@dataclass
class _Failure:
    status: int
    code: str
    retry_after_s: int | None
    times: int


@dataclass
class _State:
    groups: dict[tuple[str, str, str], _Group] = field(default_factory=dict)
    shares: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (rg, account, share) -> share props
    mounted: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)  # share -> host containers on it
    ops: dict[str, _Op] = field(default_factory=dict)


class AzureStandin:
    def __init__(self, host: ContainerHost, *, settle_s: float = 0.5):
        self.host = host
        self.settle_s = settle_s  # how long a PUT/start/delete stays in progress (what the SDK's poller waits out)
        self.storage_accounts: dict[str, str] = {}  # name -> key
        self.requests: list[tuple[str, str]] = []  # (method, path) in order, for tests
        self.bodies: list[tuple[str, dict]] = []  # (group name, body) of every container group PUT it took
        self._state = _State()
        self._failures: list[_Failure] = []
        self._guard = threading.RLock()
        self._ops = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="clawster-azure-"))
        self.ca_file = self._dir / "ca.pem"
        self.base_url = ""

    # -- the stand-in's own API -------------------------------------------------------------------
    def start(self) -> str:
        import ssl

        key_file = _self_signed(self.ca_file, self._dir / "key.pem")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        standin = self

        class Handler(_Handler):
            arm = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, args=(0.1,), name="azure-standin", daemon=True).start()
        self.base_url = f"https://127.0.0.1:{self._server.server_address[1]}"
        return self.base_url

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self._guard:
            for group in self._state.groups.values():
                for container in group.props["containers"]:
                    self.host.stop(group.host_name(container["name"]))

    def environment(self) -> dict[str, str]:
        """What the task workers need to reach this ARM (layers/providers/aci/arm.py reads them)."""
        return {"CLAWSTER_AZURE_ENDPOINT": self.base_url, "CLAWSTER_AZURE_CA_BUNDLE": str(self.ca_file)}

    def add_storage_account(self, name: str, key: str) -> None:
        self.storage_accounts[name] = key

    def fail_next(self, status: int = 429, *, code: str | None = None, retry_after_s: int | None = 1,
                  times: int = 1) -> None:
        """The next `times` requests are refused with `status` (429: ARM's throttling, with Retry-After)."""
        default = {429: "TooManyRequests", 409: "Conflict", 500: "InternalServerError"}.get(status, "Failed")
        with self._guard:
            self._failures.append(_Failure(status, code or default, retry_after_s if status == 429 else None, times))

    def injected(self) -> ArmError | None:
        with self._guard:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.times -= 1
            if failure.times <= 0:
                self._failures.pop(0)
        headers = {"Retry-After": str(failure.retry_after_s)} if failure.retry_after_s is not None else {}
        message = ("The request is being throttled as the limit has been reached for operation type. Please retry "
                   f"after {failure.retry_after_s} seconds." if failure.status == 429 else "Injected failure.")
        return ArmError(failure.status, failure.code, message, headers)

    # -- container groups -------------------------------------------------------------------------
    def get_group(self, sub: str, rg: str, name: str) -> tuple[int, dict, dict]:
        with self._guard:
            return 200, self._view(self._group(sub, rg, name)), {}

    def put_group(self, sub: str, rg: str, name: str, body: Any) -> tuple[int, dict, dict]:
        refusal = check_container_group(body)
        if refusal:
            raise ArmError(refusal.status, refusal.code, refusal.message, target=refusal.target) from None
        with self._guard:
            key = _key(sub, rg, name)
            old = self._live(key)
            if old is not None and old.phase == "Deleting":
                raise ArmError(409, "Conflict", f"The container group '{name}' is being deleted.")
            if old is not None and _fixed_changed(old.body, body):
                raise ArmError(400, "InvalidContainerGroupUpdate", _UPDATE_REFUSED.format(name=name))
            group = _Group(sub, rg, name, body, "Updating" if old else "Creating", time.monotonic() + self.settle_s)
            self.bodies.append((name, body))
            self._state.groups[key] = group
            self._launch(group, restart=old is not None)
            return (200 if old else 201), self._view(group), self._async_header(group, "create")

    def delete_group(self, sub: str, rg: str, name: str) -> tuple[int, dict | None, dict]:
        with self._guard:
            group = self._live(_key(sub, rg, name))
            if group is None:
                return 204, None, {}
            for container in group.props["containers"]:
                name_on_host = group.host_name(container["name"])
                kept = any(name_on_host in hosts for hosts in self._state.mounted.values())
                self.host.stop(name_on_host) if kept else self.host.remove(name_on_host)  # a share outlives its group
            group.phase, group.settle_at = "Deleting", time.monotonic() + self.settle_s
            return 202, None, self._async_header(group, "delete")

    def act(self, sub: str, rg: str, name: str, action: str) -> tuple[int, None, dict]:
        with self._guard:
            group = self._group(sub, rg, name)
            if group.phase == "Deleting":
                raise ArmError(409, "Conflict", f"The container group '{name}' is being deleted.")
            if action == "stop":
                group.stopped = True
                for container in group.props["containers"]:
                    self.host.stop(group.host_name(container["name"]))
                return 204, None, {}
            if action == "start" and not group.stopped:
                return 204, None, {}  # already running or starting
            group.stopped = False
            self._launch(group, restart=True)
            if action == "restart":
                return 204, None, {}
            group.settle_at = time.monotonic() + self.settle_s
            return 202, None, self._async_header(group, "start")

    def logs(self, sub: str, rg: str, name: str, container: str, tail: int | None) -> tuple[int, dict, dict]:
        with self._guard:
            group = self._group(sub, rg, name)
            if container not in [c["name"] for c in group.props["containers"]]:
                raise ArmError(404, "ContainerNotFound", f"The container '{container}' is not in container group "
                                                         f"'{name}'.")
            lines = self.host.logs(group.host_name(container))
        return 200, {"content": "".join(line + "\n" for line in (lines[-tail:] if tail else lines))}, {}

    def operation(self, sub: str, op_id: str) -> tuple[int, dict, dict]:
        with self._guard:
            op = self._state.ops.get(op_id)
            if op is None or op.group[0] != sub.lower():
                raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
            group = self._state.groups.get(op.group)
            status = "InProgress" if time.monotonic() < op.done_at else "Succeeded"
            if status == "Succeeded" and op.kind != "delete" and group is not None and self._failure(group):
                answer = {"id": op_id, "status": "Failed", "error": {"code": "DeploymentFailed",
                                                                    "message": self._failure(group)}}
                return 200, answer, {}
            self._live(op.group)  # lets a finished delete drop the group
        return 200, {"id": op_id, "name": op_id, "status": status}, {}

    # -- Azure Files shares -------------------------------------------------------------------------
    def put_share(self, sub: str, rg: str, account: str, share: str, body: Any) -> tuple[int, dict, dict]:
        self._account(account)
        if not _SHARE_NAME.match(share):
            raise ArmError(400, "InvalidResourceName", f"The share name '{share}' is invalid: 3-63 lowercase "
                                                       "letters, digits and single hyphens.")
        props = body.get("properties", {}) if isinstance(body, dict) else None
        if not isinstance(props, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid: Path 'properties'.")
        with self._guard:
            key = (rg.lower(), account, share)
            created = key not in self._state.shares
            self._state.shares[key] = {**self._state.shares.get(key, {}), **props}
            self._state.mounted.setdefault(key, set())
            return (201 if created else 200), self._share_view(sub, rg, account, share), {}

    def get_share(self, sub: str, rg: str, account: str, share: str) -> tuple[int, dict, dict]:
        self._account(account)
        with self._guard:
            if (rg.lower(), account, share) not in self._state.shares:
                raise ArmError(404, "ShareNotFound", f"The specified share '{share}' does not exist.")
            return 200, self._share_view(sub, rg, account, share), {}

    def delete_share(self, sub: str, rg: str, account: str, share: str) -> tuple[int, None, dict]:
        self._account(account)
        with self._guard:
            key = (rg.lower(), account, share)
            if key not in self._state.shares:
                return 204, None, {}
            del self._state.shares[key]
            for name_on_host in self._state.mounted.pop(key, set()):
                self.host.remove(name_on_host)  # the share's files go with it
            return 200, None, {}

    # -- inside ---------------------------------------------------------------------------------------
    def _account(self, account: str) -> None:
        if account not in self.storage_accounts:
            raise ArmError(404, "ParentResourceNotFound", f"Can not perform requested operation on nested resource. "
                                                          f"Parent resource '{account}' not found.")

    def _share_view(self, sub: str, rg: str, account: str, share: str) -> dict:
        return {"id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"
                      f"/fileServices/default/shares/{share}", "name": share,
                "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
                "properties": self._state.shares[(rg.lower(), account, share)]}

    def _live(self, key: tuple[str, str, str]) -> _Group | None:
        group = self._state.groups.get(key)
        if group is not None and group.phase == "Deleting" and time.monotonic() >= group.settle_at:
            del self._state.groups[key]
            return None
        return group

    def _group(self, sub: str, rg: str, name: str) -> _Group:
        group = self._live(_key(sub, rg, name))
        if group is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.ContainerInstance/containerGroups/{name}' "
                                                    f"under resource group '{rg}' was not found. For more details please "
                                                    "go to https://aka.ms/ARMResourceNotFoundFix")
        return group

    def _launch(self, group: _Group, *, restart: bool) -> None:
        """Run every container of the group, after mounting its shares (a mount that fails fails the group)."""
        group.failure = self._mount_failure(group)
        if group.failure:
            return
        for container in group.props["containers"]:
            name_on_host, props = group.host_name(container["name"]), container["properties"]
            env = {v["name"]: v.get("value", v.get("secureValue")) for v in props.get("environmentVariables", [])}
            if restart:
                self.host.stop(name_on_host)  # ACI restarts the containers of a group it redeploys or restarts
            self.host.run(name_on_host, props["image"], env)
            for mount in props.get("volumeMounts", []):
                share = self._share_of(group, mount["name"])
                if share:
                    self._state.mounted[share].add(name_on_host)

    def _share_of(self, group: _Group, volume: str) -> tuple[str, str, str] | None:
        for declared in group.props.get("volumes", []):
            if declared["name"] == volume and "azureFile" in declared:
                azure_file = declared["azureFile"]
                return group.rg.lower(), azure_file["storageAccountName"], azure_file["shareName"]
        return None

    def _mount_failure(self, group: _Group) -> str:
        for volume in group.props.get("volumes", []):
            azure_file = volume.get("azureFile")
            if azure_file is None:
                continue
            account, share = azure_file["storageAccountName"], azure_file["shareName"]
            if self.storage_accounts.get(account) is None or azure_file.get("storageAccountKey") != \
                    self.storage_accounts[account]:
                return f"Failed to mount Azure File Volume '{volume['name']}': the storage account key is not valid."
            if (group.rg.lower(), account, share) not in self._state.shares:
                return f"Failed to mount Azure File Volume '{volume['name']}': share '{share}' does not exist."
        return ""

    def _failure(self, group: _Group) -> str:
        if group.failure:
            return group.failure
        for container in group.props["containers"]:
            status = self.host.status(group.host_name(container["name"]))
            if status is not None and status.state == "EXITED" and status.detail.startswith("CannotPull"):
                return f"Failed to pull image '{container['properties']['image']}': {status.detail}"
        return ""

    def _async_header(self, group: _Group, kind: str) -> dict:
        op_id = f"op-{next(self._ops)}"
        self._state.ops[op_id] = _Op(_key(group.sub, group.rg, group.name), group.settle_at, kind)
        location = group.body.get("location", "local").replace(" ", "").lower()
        url = (f"{self.base_url}/subscriptions/{group.sub}/providers/Microsoft.ContainerInstance/locations/{location}"
               f"/operations/{op_id}?api-version={ACI_API}")
        return {"Azure-AsyncOperation": url}

    def _view(self, group: _Group) -> dict:
        """The group as ARM's GET shows it: no secureValue, no storage key; state and address from the containers."""
        settling = time.monotonic() < group.settle_at
        failure = "" if settling else self._failure(group)
        provisioning = group.phase if settling or group.phase == "Deleting" else ("Failed" if failure else "Succeeded")
        props = json.loads(json.dumps(group.props))
        published = 0
        for container in props["containers"]:
            status = self.host.status(group.host_name(container["name"]))
            cprops = container["properties"]
            cprops["environmentVariables"] = [{k: v for k, v in variable.items() if k != "secureValue"}
                                              for variable in cprops.get("environmentVariables", [])]
            cprops["instanceView"] = _instance_view(status, group, failure)
            if status is not None and status.state == "RUNNING" and not published:
                published = status.port
        for volume in props.get("volumes", []):
            (volume.get("azureFile") or {}).pop("storageAccountKey", None)
        props["provisioningState"] = provisioning
        state = ("Stopped" if group.stopped else "Failed" if failure else "Pending" if settling else "Running")
        events = [{"count": 1, "name": "Failed", "type": "Warning", "message": failure}] if failure else []
        props["instanceView"] = {"state": state, "events": events}
        if "ipAddress" in props:
            address = props["ipAddress"]
            if published and not group.stopped:
                address["ip"] = "127.0.0.1"
                address["ports"] = [{**address["ports"][0], "port": published}, *address["ports"][1:]]
            if address.get("dnsNameLabel"):
                address["fqdn"] = f"{address['dnsNameLabel']}.{group.body['location']}.azurecontainer.io"
        return {"id": group.id, "name": group.name, "type": "Microsoft.ContainerInstance/containerGroups",
                "location": group.body["location"], "tags": group.body.get("tags", {}), "properties": props}


def _instance_view(status, group: _Group, failure: str) -> dict:
    if status is None or group.stopped:
        return {"restartCount": status.restarts if status else 0,
                "currentState": {"state": "Terminated", "detailStatus": "Stopped" if group.stopped else failure}}
    if status.state == "RUNNING":
        return {"restartCount": status.restarts, "currentState": {"state": "Running", "detailStatus": "",
                                                                  "startTime": _now()}}
    if status.detail.startswith("CannotPull"):
        return {"restartCount": status.restarts, "currentState": {"state": "Waiting", "detailStatus": "ErrImagePull"},
                "events": [{"count": 1, "name": "Failed", "type": "Warning", "message": status.detail}]}
    return {"restartCount": status.restarts,
            "currentState": {"state": "Waiting", "detailStatus": "CrashLoopBackOff: Back-off restarting failed"},
            "previousState": {"state": "Terminated", "exitCode": status.exit_code, "detailStatus": "Error",
                              "finishTime": _now()}}


def _fixed_changed(old: dict, new: dict) -> bool:
    before, after = old["properties"], new["properties"]
    if any(before.get(key) != after.get(key) for key in _FIXED):
        return True
    if (before.get("ipAddress") or {}).get("type") != (after.get("ipAddress") or {}).get("type"):
        return True
    sizes = {c["name"]: c["properties"]["resources"] for c in before["containers"]}
    return any(c["name"] in sizes and sizes[c["name"]] != c["properties"]["resources"] for c in after["containers"])


def _key(sub: str, rg: str, name: str) -> tuple[str, str, str]:
    return sub.lower(), rg.lower(), name.lower()  # ARM names are case-insensitive


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def _self_signed(cert_file: Path, key_file: Path) -> Path:
    """A CA certificate for 127.0.0.1 and localhost, its own issuer: what the clients trust (connection_verify)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clawster local ARM")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return key_file


class _Handler(BaseHTTPRequestHandler):
    arm: AzureStandin
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet, like the other stand-ins
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._serve("PUT")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.arm.requests.append((method, url.path))
        try:
            status, body, headers = self._route(method, url.path, query, raw)
        except ArmError as error:
            status, headers = error.status, error.headers
            body = ArmRefusal(error.code, error.target, error.message).body()
            if not error.target:
                del body["error"]["target"]
        self._answer(status, body, headers)

    def _route(self, method: str, path: str, query: dict, raw: bytes) -> tuple[int, Any, dict]:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer "):].strip():
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        injected = self.arm.injected()
        if injected:
            raise injected
        for verb, pattern, handler, api_version in ROUTES:
            match = re.match(pattern, path, re.IGNORECASE)
            if not match or verb != method:
                continue
            given = (query.get("api-version") or [""])[0]
            if not given:
                raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) "
                                                                  "is required for all requests.")
            if given != api_version:
                raise ArmError(400, "InvalidApiVersionParameter", f"The api-version '{given}' is invalid. The "
                                                                  f"supported versions are '{api_version}'.")
            args = match.groupdict()
            if handler in ("put_group", "put_share"):
                args["body"] = _json(raw)
            if handler == "logs":
                args["tail"] = int(query["tail"][0]) if "tail" in query else None
            args.pop("loc", None)
            if "op" in args:
                args["op_id"] = args.pop("op")
            return getattr(self.arm, handler)(**args)
        if any(re.match(pattern, path, re.IGNORECASE) for _, pattern, _, _ in ROUTES):
            raise ArmError(405, "MethodNotAllowed", f"The method '{method}' is not allowed on '{path}'.")
        raise ArmError(404, "InvalidResourceType", f"No route for '{path}' in this local Azure Resource Manager.")

    def _answer(self, status: int, body: Any, headers: dict) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("x-ms-request-id", f"local-{time.monotonic_ns()}")
        for name, value in headers.items():
            self.send_header(name, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise ArmError(400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: "
                                                     f"{error}.") from None
