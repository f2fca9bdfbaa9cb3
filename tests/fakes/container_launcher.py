"""A ContainerHost launcher (shared/clawster/local/cloud/container_host.py) that runs a FakeGateway instead of the
image's entrypoint: fast tests of the cloud adapters and their stand-ins, where what runs in the container is not
what is under test. It reads the env as the entrypoint does (token, config JSON) and refuses to start without a
token, as the entrypoint exits 78 then; tests/contract/test_gateway_image.py runs the real entrypoint."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.fake_gateway import FakeGateway

VERSIONS = {"2026.9.6", "2026.9.5"}


class FakeLauncher:
    def __init__(self, versions: set[str] = frozenset(VERSIONS)):
        self._versions = set(versions)
        self.launched: list[tuple[str, str, dict[str, str]]] = []  # (name, version, env), in order

    def versions(self) -> set[str]:
        return set(self._versions)

    def launch(self, name: str, version: str, env: dict[str, str], state_dir: Path, log_file: Path):
        self.launched.append((name, version, dict(env)))
        return _FakeRun(env, state_dir)


class _FakeRun:
    def __init__(self, env: dict[str, str], state_dir: Path):
        self._exit: int | None = None
        self.gateway: FakeGateway | None = None
        token = env.get("OPENCLAW_GATEWAY_TOKEN")
        if not token:
            self._exit, self.port = 78, 0
            return
        config = json.loads(env.get("CLAWSTER_GATEWAY_CONFIG") or "{}")
        config.setdefault("gateway", {}).update({"mode": "local", "bind": "lan", "auth": {"mode": "token", "token": token}})
        config.setdefault("plugins", {}).setdefault("entries", {})["admin-http-rpc"] = {"enabled": True}
        self.gateway = FakeGateway(token, config=config).start()
        self.port = self.gateway.port
        (state_dir / "openclaw.json").write_text(json.dumps(config))  # as the entrypoint seeds the volume

    def exit_code(self) -> int | None:
        return self._exit

    def stop(self, timeout_s: float) -> None:
        if self.gateway is not None and self._exit is None:
            self.gateway.stop()
            self._exit = 143  # SIGTERM'd, as a container stop ends it

    def crash(self, code: int = 1) -> None:
        """Tests: the process ends by itself (the host relaunches it)."""
        if self.gateway is not None:
            self.gateway.stop()
        self._exit = code

    def logs(self) -> list[str]:
        return list(self.gateway.logs) if self.gateway else ["clawster-entrypoint: OPENCLAW_GATEWAY_TOKEN is not set"]
