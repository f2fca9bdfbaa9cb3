"""The whole control plane in one process: moto in server mode (DynamoDB, Step Functions that
really execute, Lambda through the in-process hook), the local API Gateway in front of every
catalog function, the local token issuer, and the local scheduler that fires the catalog's Schedule-triggered
jobs (scheduler.py). `make dev` runs it with the scheduler's timer on; the tests start one per worker with
the timer off, and fire jobs themselves (`stack.scheduler.fire(name)`).

One process hosts moto, so its Step Functions interpreter and stream mappings reach the hook; the
hook runs each function's handlers in instances of their own (worker processes, lambda_runtime.py).
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import signal
import sys
import threading
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from functions import catalog

from . import durable_secrets, lambda_runtime, moto_dynamodb, moto_stepfunctions, scan_guard, workflows
from .api_gateway import LocalApiGateway
from .console_site import ConsoleSite
from .hosted_ui import LocalHostedUi
from .issuer import Issuer
from .journal import SNAPSHOT_FILE, DurableTable
from .moto_server import MotoServer
from .ports import PortUnavailable, ensure_free
from .scheduler import LocalScheduler
from .ws_api import LocalWebSocketApi

log = logging.getLogger("local")

DEFAULT_TABLE = "clawster-local"
STACK_FILE = "stack.json"
LAMBDA_ROLE = "clawster-local-lambda"
LOCK_FILE = ".lock"
# What the stack sets for its functions (endpoints, table, workflows, target, stream API, token issuer).
STACK_ENVIRONMENT = ("AWS_ENDPOINT_URL", "MOTO_PORT", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_ACCOUNT_ID_ENDPOINT_MODE", "TABLE_NAME", "CLAWSTER_STATE_MACHINES",
                     "CLAWSTER_LOCAL_PROVIDER_ROOT", "WS_MANAGEMENT_ENDPOINT", "TOKEN_ISSUER", "TOKEN_AUDIENCE", "JWKS_URL")


class StateDirInUse(RuntimeError):
    """Another local stack runs on this state folder (two would interleave their journals)."""


class LocalStack:
    def __init__(self, state_dir: Path | str, api_port: int = 8787, moto_port: int = 5061, seed: bool = True,
                 admin_user: str = "admin", compact_after: int = 5000, ws_port: int = 0,
                 keep_gateways: bool = True, run_schedules: bool = False, cloud_launcher: Any = None,
                 console_token_ttl_s: int = 3600):
        self.state_dir = Path(state_dir)
        self.api_port, self.moto_port, self.seed, self.admin_user = api_port, moto_port, seed, admin_user
        self.ws_port = ws_port
        self.console_token_ttl_s = console_token_ttl_s  # the console's ID tokens (refreshed before they expire)
        self.compact_after = compact_after
        # Entity models read TABLE_NAME when they are imported: settle it before anything imports them.
        self.table_name = os.environ.setdefault("TABLE_NAME", DEFAULT_TABLE)
        self.functions = {f.name: lambda_runtime.LocalFunction.from_catalog(f) for f in catalog.FUNCTIONS}
        self.scheduler = LocalScheduler(self.functions)  # fire(name) always; its timer only with run_schedules
        self.run_schedules = run_schedules
        self.demo_workspace_id: str | None = None
        self.restored_items = 0
        self.restored_secrets = 0
        self._moto: Any = None
        self._gateway: LocalApiGateway | None = None
        self._ws: LocalWebSocketApi | None = None
        self._provider: Any = None  # the supervising local provider (layers/providers/local)
        self.cloud: Any = None  # the cloud targets' stand-ins (clawster.local.cloud.standins)
        self.cloud_launcher = cloud_launcher  # what runs their containers (default: the gateway image's entrypoint)
        self._cloud_env: dict[str, str] = {}
        self.keep_gateways = keep_gateways  # on stop; `make dev` keeps them for the next start to adopt
        self.state_machines: dict[str, str] = {}
        self.resumed: list[str] = []  # bots whose unfinished workflow this start resumed
        self._durable: DurableTable | None = None
        self._lock_fd: int | None = None
        self.issuer: Issuer | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock_state_dir()
        scan_guard.install()
        moto_dynamodb.install()
        moto_stepfunctions.install()
        self._start_moto()
        lambda_runtime.install_moto_hook()
        for function in self.functions.values():
            lambda_runtime.REGISTRY.add(function)
        client = self._client("dynamodb")
        self._create_table(client)
        self._durable = self._restore(client)
        durable_secrets.install()
        self.restored_secrets = durable_secrets.attach(self.state_dir, self._client("secretsmanager"))
        self._deploy_functions()
        self._deploy_workflows()
        self._start_cloud()
        if self.seed:
            from clawster.services.seed import seed_demo

            self.demo_workspace_id = seed_demo(self.admin_user)
        self._durable.start()  # from here on, every committed change is journaled before it is acknowledged
        self.issuer = Issuer(self.state_dir)
        self._start_ws_api()
        self._gateway = LocalApiGateway(self.functions, self.issuer, port=self.api_port,
                                        console=ConsoleSite(self.ws_url),
                                        hosted_ui=LocalHostedUi(self.issuer, token_ttl_s=self.console_token_ttl_s))
        self._gateway.start()
        self._pin_environment()
        self.resumed = workflows.resume(self.state_machines)
        if self.run_schedules:
            self.scheduler.start()
        self._write_stack_file()

    def stop(self) -> None:
        """Stop serving, then save the table: every accepted change is on disk when this returns.
        Running workflows are stopped first (the next start resumes them from their recorded steps)."""
        self.scheduler.stop()  # no new job runs; the ones in flight end while the table is still there
        if self.state_machines and self._moto:
            workflows.stop_running(self._client("stepfunctions"), self.state_machines)
        if self._ws:
            self._ws.stop()  # each open connection gets its $disconnect while the table is still there
            self._ws = None
        if self._gateway:
            self._gateway.stop()
            self._gateway = None
        for function in self.functions.values():  # each Lambda instance (a worker process) ends here
            function.stop()
        if self.cloud:
            self.cloud.close()  # their containers stop with the clouds they ran in
            self.cloud = None
        if self._provider:
            self._provider.close()  # gateways keep running; the next stack re-adopts them
            if not self.keep_gateways:
                self._provider.stop_all()
            self._provider = None
        if self._moto:
            durable_secrets.detach(self.state_dir)
        if self._durable:
            saved = self._durable.stop()
            log.info("saved %d items to %s", saved, self.state_dir / SNAPSHOT_FILE)
            self._durable = None
        (self.state_dir / STACK_FILE).unlink(missing_ok=True)
        if self._moto:
            self._moto.stop()
            self._moto = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    # -- what callers read -------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        assert self._gateway, "the stack is not running"
        return self._gateway.url

    @property
    def console_url(self) -> str:
        return f"{self.api_url}/console/"

    @property
    def ws_url(self) -> str:
        assert self._ws, "the stack is not running"
        return self._ws.url

    @property
    def ws_management_url(self) -> str:
        assert self._ws, "the stack is not running"
        return self._ws.management_url

    @property
    def cloud_env(self) -> dict[str, str]:
        """What the cloud targets' stand-ins give the functions: endpoints, the deployment's defaults, CLAWSTER_TARGETS."""
        return dict(self._cloud_env)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    def snapshot_now(self) -> int:
        """Compact the journal into the snapshot now; returns the item count."""
        assert self._durable, "the stack is not running"
        return self._durable.compact()

    # -- parts ---------------------------------------------------------------------------------------

    def _lock_state_dir(self) -> None:
        """Hold an exclusive lock on the state folder while running; the kernel drops it if we die."""
        fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StateDirInUse(f"the state folder {self.state_dir.resolve()} is in use by a running local stack "
                                f"(pid {holder}). Stop it, or use another --state-dir") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _start_moto(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._moto = MotoServer("127.0.0.1", self.moto_port)  # raises PortUnavailable on a busy port
        self._moto.start()
        self.moto_port = self._moto.port
        # Everything in this process (handlers, pynamodb, moto's own Step Functions interpreter,
        # which calls back on MOTO_PORT) talks to this server.
        os.environ.update(
            AWS_ENDPOINT_URL=self.moto_url, MOTO_PORT=str(self.moto_port), AWS_DEFAULT_REGION="us-east-1",
            AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
        )
        config = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
        request = urllib.request.Request(f"{self.moto_url}/moto-api/config", data=config, method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def _pin_environment(self) -> None:
        """Give every function this stack's settings, as its Lambda Environment: this process's os.environ
        is shared (a test process may start a second stack) and an instance starts whenever it is needed."""
        pinned = {key: os.environ[key] for key in STACK_ENVIRONMENT if key in os.environ} | self._cloud_env
        for function in self.functions.values():
            function.environment = pinned

    def _deploy_workflows(self) -> None:
        """The workflows' state machines in moto, and the local target: gateways under <state>/gateways,
        kept running by the one supervising provider here, driven by the task functions from their own
        instances (the provider's per-bot file locks keep them apart)."""
        from clawster.services import executions
        from layers.providers import registry
        from layers.providers.errors import RuntimeMissing

        self.state_machines = workflows.deploy(self._client("iam"), self._client("stepfunctions"))
        os.environ[executions.ENV] = json.dumps(self.state_machines)
        root = (self.state_dir / "gateways").resolve()
        os.environ[registry.LOCAL_ROOT_ENV] = str(root)
        try:
            from layers.providers.local import LocalProvider

            self._provider = LocalProvider(root, supervise=True)
        except RuntimeMissing as error:  # bots with target "local" then end in ERROR naming the fix
            log.warning("the local target is unavailable: %s", error.message)

    def _start_cloud(self) -> None:
        """The cloud targets (ecs, cloudrun, aci) on their stand-ins: the adapters' real SDKs talk to them, and
        their containers are real gateways on this machine (clawster.local.cloud.standins)."""
        from .cloud.standins import CloudStandIns

        self.cloud = CloudStandIns(self.state_dir / "cloud", self._client, self.cloud_launcher)
        self._cloud_env = self.cloud.start()
        os.environ.update(self._cloud_env)

    def _start_ws_api(self) -> None:
        """The stream API. Its functions run in this process and read their settings from the environment,
        as the CDK app sets them on AWS: the @connections endpoint, and the issuer whose keys verify tokens."""
        from .issuer import AUDIENCE, ISSUER

        assert self.issuer
        self._ws = LocalWebSocketApi(self.functions, self.issuer, port=self.ws_port)
        self.ws_port = self._ws.port
        os.environ.update(WS_MANAGEMENT_ENDPOINT=self._ws.management_url, TOKEN_ISSUER=ISSUER,
                          TOKEN_AUDIENCE=AUDIENCE, JWKS_URL=self._ws.jwks_url)
        self._ws.start()

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.moto_url, region_name="us-east-1")

    def _create_table(self, client: Any) -> None:
        from clawster.store.schema import create_table

        if self.table_name not in client.list_tables()["TableNames"]:
            create_table(client, self.table_name)

    def _restore(self, client: Any) -> DurableTable:
        """Load the snapshot and the journal written after it into the (new, empty) table."""
        table = client.describe_table(TableName=self.table_name)["Table"]
        durable = DurableTable(self.state_dir, table["TableArn"], [k["AttributeName"] for k in table["KeySchema"]],
                               compact_after=self.compact_after)
        items = [workflows.with_current_keys(item) for item in durable.load()]
        moto_dynamodb.put_items(table["TableArn"], items)
        self.restored_items = len(items)
        return durable

    def _deploy_functions(self) -> None:
        """Register each catalog function with moto's Lambda service, so Step Functions tasks and
        direct invokes reach it (through the in-process hook, never Docker)."""
        iam, lambdas = self._client("iam"), self._client("lambda")
        role = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }))["Role"]["Arn"]
        for function in catalog.FUNCTIONS:
            lambdas.create_function(
                FunctionName=function.name, Runtime="python3.11", Role=role, Handler=function.handler,
                Code={"ZipFile": _placeholder_zip()}, MemorySize=function.memory_mb, Timeout=function.timeout_s,
                Environment={"Variables": {"TABLE_NAME": self.table_name}},
            )

    def _write_stack_file(self) -> None:
        info = {"api_url": self.api_url, "ws_url": self.ws_url, "moto_url": self.moto_url, "table_name": self.table_name,
                "demo_workspace_id": self.demo_workspace_id, "pid": os.getpid()}
        temp = self.state_dir / f".{STACK_FILE}.tmp"
        temp.write_text(json.dumps(info, indent=2))
        os.replace(temp, self.state_dir / STACK_FILE)


def _placeholder_zip() -> bytes:
    """moto wants a code package; the hook runs the handler from this checkout instead."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process from the Clawster checkout")
    return buffer.getvalue()


def run_forever(state_dir: Path | str, api_port: int = 8787, moto_port: int = 5061, ws_port: int = 0) -> int:
    """`clawster dev`: run until Ctrl-C or SIGTERM, then save and exit 0; exit 1 at once when a port is taken."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("botocore", "pynamodb", "werkzeug"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        # Before anything starts: a second `clawster dev` must not touch the first one's state.
        ensure_free("127.0.0.1", api_port, "API", "--api-port")
        ensure_free("127.0.0.1", moto_port, "moto", "--moto-port")
        ensure_free("127.0.0.1", ws_port, "WebSocket API", "--ws-port")
        stack = LocalStack(state_dir, api_port=api_port, moto_port=moto_port, ws_port=ws_port, run_schedules=True)
        stack.start()
    except (PortUnavailable, StateDirInUse) as error:  # a port or the state folder is another stack's
        print(f"clawster dev: {error}", file=sys.stderr, flush=True)
        return 1
    # Only now: until the stack runs there is nothing to save, and the default (exit at once) is right.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        assert stack.issuer
        print(f"Clawster local stack\n"
              f"  Console        {stack.console_url}   (sign in as admin for the demo workspace, or as any user name)\n"
              f"  API            {stack.api_url}\n"
              f"  OpenAPI        {stack.api_url}/openapi.json   (no token needed)\n"
              f"  Swagger UI     {stack.api_url}/swagger\n"
              f"  streams        {stack.ws_url}   (WebSocket; ?token=<token>)\n"
              f"  moto           {stack.moto_url}\n"
              f"  cloud targets  ecs (moto + the Fargate agent), cloudrun {stack.cloud_env.get('CLAWSTER_GCP_ENDPOINT')}, "
              f"aci {stack.cloud_env.get('CLAWSTER_AZURE_ENDPOINT')}   (stand-ins: clawster target list)\n"
              f"  schedules      {', '.join(f'{j.function} {j.expression}' for j in stack.scheduler.jobs.values())}\n"
              f"  state          {stack.state_dir.resolve()} ({stack.restored_items} items restored)\n"
              f"  demo workspace {stack.demo_workspace_id}\n"
              f"  admin token    {stack.issuer.issue(stack.admin_user, ttl_s=12 * 3600)}\n"
              f"Try: clawster fleet list   (Ctrl-C to stop; data is saved)", flush=True)
        while not stop.wait(1):
            pass
    finally:
        stack.stop()
        print("stopped; data saved", flush=True)
    return 0
