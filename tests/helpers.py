"""A small HTTP client for the API, and a team (workspace with one member per role) built through it."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

ROLES = ("OWNER", "ADMIN", "OPERATOR", "VIEWER")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def etag(self) -> str:
        return self.headers.get("ETag") or self.headers.get("etag") or ""

    def ok(self, *statuses: int) -> Reply:
        assert self.status in statuses, f"expected {statuses}, got {self.status}: {self.body}"
        return self


class Client:
    def __init__(self, base_url: str, token: str | None):
        self.base_url = base_url.rstrip("/")
        self.token = token

    def request(self, method: str, path: str, body: Any = None, *, query: dict | None = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> Reply:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(url, data=data, method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return _reply(error.code, error.headers, error.read())

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any, etag: str | None = None, **kw: Any) -> Reply:
        headers = {"If-Match": etag} if etag is not None else None
        return self.request("PATCH", path, body, headers=headers, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Reply:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, etag: str | None = None, **kw: Any) -> Reply:
        headers = {"If-Match": etag} if etag is not None else None
        return self.request("DELETE", path, headers=headers, **kw)


def _reply(status: int, headers: Any, raw: bytes) -> Reply:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Reply(status, dict(headers.items()), body)


@dataclass
class Team:
    """A workspace with one user per role, plus an outsider who belongs to another workspace."""

    workspace_id: str
    users: dict[str, str]
    clients: dict[str, Client]
    outsider: Client
    fleet_id: str = ""
    bot_id: str = ""
    revision_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, client_for, new_user) -> Team:
        users = {role: new_user(role.lower()) for role in ROLES}
        owner = client_for(users["OWNER"])
        workspace = owner.post("/workspaces", {"name": "team"}).ok(201).body
        for role in ROLES[1:]:
            owner.put(f"/workspaces/{workspace['id']}/members/{users[role]}", {"role": role}).ok(201)
        outsider = client_for(new_user("outsider"))
        outsider.post("/workspaces", {"name": "elsewhere"}).ok(201)
        return cls(workspace["id"], users, {r: client_for(u) for r, u in users.items()}, outsider)

    @property
    def owner(self) -> Client:
        return self.clients["OWNER"]

    @property
    def ws(self) -> str:
        return f"/workspaces/{self.workspace_id}"

    def with_bot(self) -> Team:
        """Add a fleet and a bot (from a template) through the API."""
        self.fleet_id = self.owner.post(f"{self.ws}/fleets", {"name": "fleet-a"}).ok(201).body["id"]
        bot = self.owner.post(f"{self.ws}/fleets/{self.fleet_id}/bots",
                              {"name": "bot-a", "template_id": "minimal"}).ok(201).body
        self.bot_id, self.revision_id = bot["id"], bot["desired_revision_id"]
        return self


def put_bot_in_status(workspace_id: str, bot_id: str, status: str) -> None:
    """Record `status` on a bot as a finished workflow would, for API tests of what each status allows
    (tests of the workflows themselves run them for real)."""
    from clawster.store.entities import Bot

    bot = Bot.get(*Bot.key(workspace_id, bot_id), consistent_read=True)
    bot.status = status
    bot.stamp()
    bot.derive_keys()
    bot.save()
