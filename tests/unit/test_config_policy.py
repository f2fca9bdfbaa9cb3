"""Secrets cannot be smuggled into a bot config: a hand-written table of configs and the path each is refused at.

The table is the oracle: written from OpenClaw's documented secret fields and the known credential formats,
not read from config_policy's own lists. Credential-shaped values are assembled from pieces so that no
scanner mistakes this file for a leak.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from clawster.domain import config_policy, openclaw_secret_paths
from clawster.domain.errors import ValidationFailed
from clawster.domain.templates import TEMPLATES
from layers.providers.local import OpenClawRuntime

RANDOM = "Zq7" * 12  # upper, lower and digits: 36 characters that look like a key body
OPENAI = "sk-" + "proj-" + RANDOM + RANDOM
ANTHROPIC = "sk-" + "ant-api03-" + RANDOM + RANDOM
AWS = "AKIA" + "Q7ZT3XK2M9BW4LNE"
AWS_SESSION = "ASIA" + "Q7ZT3XK2M9BW4LNE"
GITHUB = "gh" + "p_" + RANDOM
GITHUB_FINE = "github" + "_pat_" + RANDOM
SLACK_BOT = "xo" + "xb-" + "1234567890-0987654321-" + RANDOM[:24]
SLACK_USER = "xo" + "xp-" + "1234567890-0987654321-" + RANDOM[:24]
GOOGLE = "AI" + "za" + RANDOM[:35]
TELEGRAM = "123456789" + ":" + RANDOM[:35]
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
PEM_PKCS8 = "-----BEGIN " + "PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----"
REF = {"$secretRef": "clawster/bot/token"}
SMUGGLED = "hunter2-very-secret"


def nest(path: str, value):
    """{"a": {"b": value}} from "a.b"."""
    for key in reversed(path.split(".")):
        value = {key: value}
    return value


# (config, the field of the 422) -- every value here is refused at exactly that path.
REFUSED = [
    # the examples: an object or a list under a secret key
    (nest("models.providers.openai.apiKey", {"value": OPENAI}), "config.models.providers.openai.apiKey"),
    (nest("models.providers.openai.apiKeys", [SMUGGLED]), "config.models.providers.openai.apiKeys"),
    (nest("models.providers.openai.apiKey", [{"$secretRef": "a"}]), "config.models.providers.openai.apiKey"),
    # any non-reference value under a secret key, not only strings
    (nest("gateway.auth.password", 123456), "config.gateway.auth.password"),
    (nest("gateway.auth.token", True), "config.gateway.auth.token"),
    (nest("gateway.auth.token", SMUGGLED), "config.gateway.auth.token"),
    (nest("gateway.remote.password", SMUGGLED), "config.gateway.remote.password"),
    (nest("channels.telegram.botToken", SMUGGLED), "config.channels.telegram.botToken"),
    (nest("channels.slack.signingSecret", SMUGGLED), "config.channels.slack.signingSecret"),
    (nest("channels.feishu.encryptKey", SMUGGLED), "config.channels.feishu.encryptKey"),
    (nest("channels.nostr.privateKey", SMUGGLED), "config.channels.nostr.privateKey"),
    (nest("channels.googlechat.serviceAccount", {"client_email": "a@b.c"}), "config.channels.googlechat.serviceAccount"),
    (nest("auth.credentials", {"user": "alice"}), "config.auth.credentials"),
    (nest("db.passwd", SMUGGLED), "config.db.passwd"),
    ({"channels": [{"password": "p"}]}, "config.channels[0].password"),
    # a secret-like key anywhere on the path makes the whole subtree secret, as OpenClaw's rule does
    (nest("secrets.providers.vault", {"source": "file"}), "config.secrets"),
    (nest("channels.irc.nickserv.password", SMUGGLED), "config.channels.irc.nickserv.password"),
    # paths OpenClaw's schema marks sensitive although their names say nothing
    (nest("agents.defaults.sandbox.ssh.identityData", "AAAAB3Nza"), "config.agents.defaults.sandbox.ssh.identityData"),
    (nest("channels.synology-chat.webhookUrl", "https://nas.example/hook"), "config.channels.synology-chat.webhookUrl"),
    (nest("models.providers.corp.headers.X-Tenant", "acme"), "config.models.providers.corp.headers.X-Tenant"),
    (nest("models.providers.corp.request.tls.cert", "c"), "config.models.providers.corp.request.tls.cert"),
    (nest("mcp.servers.github.env.GH_HOST", "github.com"), "config.mcp.servers.github.env.GH_HOST"),
    (nest("models.providers.ollama.localService.env.OLLAMA_HOST", "x"),
     "config.models.providers.ollama.localService.env.OLLAMA_HOST"),
    ({"hooks": {"mappings": [{"match": "x"}, {"sessionKey": "abc"}]}}, "config.hooks.mappings[1].sessionKey"),
    ({"tools": {"media": {"models": [{"request": {"auth": {"value": "v"}}}]}}},
     "config.tools.media.models[0].request.auth.value"),
    (nest("tools.web.fetch.headers.Cookie", "session=1"), "config.tools.web.fetch.headers.Cookie"),
    (nest("plugins.entries.onepassword", {"enabled": True}), "config.plugins.entries.onepassword"),
    # a malformed reference
    ({"a": {"$secretRef": 42}}, "config.a"),
    ({"a": {"$secretRef": "x", "value": SMUGGLED}}, "config.a"),
    ({"a": {"$secretRef": "has spaces and ; semicolons"}}, "config.a"),
    # values shaped like credentials, anywhere
    (nest("ui.assistant.name", OPENAI), "config.ui.assistant.name"),
    (nest("notes.text", f"the key is {ANTHROPIC} ok"), "config.notes.text"),
    (nest("notes.text", AWS), "config.notes.text"),
    (nest("notes.text", AWS_SESSION), "config.notes.text"),
    (nest("notes.text", GITHUB), "config.notes.text"),
    (nest("notes.text", GITHUB_FINE), "config.notes.text"),
    (nest("notes.text", SLACK_BOT), "config.notes.text"),
    (nest("notes.text", SLACK_USER), "config.notes.text"),
    (nest("notes.text", GOOGLE), "config.notes.text"),
    (nest("notes.text", TELEGRAM), "config.notes.text"),
    (nest("notes.webhook", f"https://api.telegram.org/bot{TELEGRAM}/sendMessage"), "config.notes.webhook"),
    (nest("notes.header", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig1"), "config.notes.header"),
    (nest("notes.header", "bearer 0123456789abcdef0123"), "config.notes.header"),
    (nest("memory.store.url", "postgres://app:hunter2@db.internal:5432/mem"), "config.memory.store.url"),
    (nest("models.providers.corp.baseUrl", "https://bob:pw@llm.example.com/v1"), "config.models.providers.corp.baseUrl"),
    (nest("notes.url", "https://api.example.com/v1?api_key=abc123"), "config.notes.url"),
    (nest("notes.url", "https://hooks.example.com/x?a=1&token=abc"), "config.notes.url"),
    (nest("gateway.tls.keyPem", PEM), "config.gateway.tls.keyPem"),
    (nest("notes.text", PEM_PKCS8), "config.notes.text"),
    ({"channels": {"x": {"allowFrom": ["alice", SLACK_BOT]}}}, "config.channels.x.allowFrom[1]"),
    # a credential used as a key: the field names the object holding it, never the key
    ({"agents": {"aliases": {OPENAI: "main"}}}, "config.agents.aliases"),
]

# Ordinary configs that must pass unchanged.
ACCEPTED = [
    nest("agents.defaults.model.primary", "openai/gpt-4o"),
    nest("agents.defaults.model.fallbacks", ["anthropic/claude-sonnet-4-5", "google/gemini-2.5-pro"]),
    nest("agents.entries", {"main": {"name": "Task manager"}, "pipeline": {"name": "sk-learn-pipeline-2024-project"}}),
    nest("models.providers.openai.baseUrl", "https://api.openai.com/v1"),
    # a custom provider declares baseUrl and models (OpenClaw refuses it otherwise; its JSON schema does not say so)
    nest("models.providers.mock", {"baseUrl": "http://127.0.0.1:29999/v1", "models": [{"id": "mock-1", "name": "Mock 1"}]}),
    nest("messages.responsePrefix", "https://git@github.com/openclaw/openclaw.git"),  # a user, no password
    nest("messages.responsePrefix", "https://example.com:8443/search?q=token&page=2"),
    nest("messages.responsePrefix", "Bearer authentication is set on the proxy; rotate the API key monthly."),
    nest("messages.responsePrefix", "2026-11-26T02:10:00Z"),
    nest("messages.responsePrefix", "sha256:" + "0123456789abcdef" * 4),
    nest("messages.responsePrefix", "01JDX3QZ7M8N9P0R1S2T3V4W5X"),
    nest("gateway.tls.ca", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
    nest("gateway.auth.mode", "token"),
    nest("channels.telegram.tokenFile", "/run/secrets/telegram"),
    nest("channels.irc.passwordFile", "/run/secrets/irc"),
    {"models": {"providers": {"mock": {"baseUrl": "http://127.0.0.1:29999/v1", "models": [
        {"id": "mock-1", "name": "Mock 1", "contextWindow": 32000, "contextTokens": 16000, "maxTokens": 1024}]}}}},
    # a secret path holding a reference or nothing at all
    nest("gateway.auth.token", REF),
    nest("gateway.auth.token", ""),  # (null is refused: OpenClaw's schema wants a string there)
    nest("gateway.auth.password", ""),
    nest("channels.telegram.botToken",
         {"$secretRef": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:clawster/tg-AbCdEf"}),
    nest("models.providers.corp", {"baseUrl": "https://llm.example.com/v1", "models": [{"id": "m", "name": "M"}],
                                   "headers": {"Authorization": REF}}),
    {"hooks": {"mappings": [{"match": {"path": "x"}, "sessionKey": REF}]}},
]


@pytest.mark.parametrize("config,field", REFUSED, ids=[f for _, f in REFUSED])
def test_smuggled_secrets_are_refused_at_their_path_without_the_value(config, field):
    with pytest.raises(ValidationFailed) as refused:
        config_policy.check_config(config)
    error = refused.value
    assert error.details["errors"][0]["field"] == field
    said = json.dumps(error.details) + str(error)
    for secret in (OPENAI, ANTHROPIC, AWS, GITHUB, SLACK_BOT, GOOGLE, TELEGRAM, SMUGGLED, "hunter2", "MIIE", RANDOM):
        assert secret not in said


@pytest.mark.parametrize("config", ACCEPTED, ids=[json.dumps(c)[:60] for c in ACCEPTED])
def test_ordinary_values_and_references_pass(config):
    canonical = config_policy.check_config(config)
    assert json.loads(canonical) == config


def test_every_template_passes():
    for template in TEMPLATES.values():
        config_policy.check_config(template.config)


def _holding(path: str, value):
    """A config with `value` at an OpenClaw hint path: "*" becomes a key, "[]" a one-item list."""
    segments = path.replace("[]", ".[]").split(".")
    for segment in reversed(segments):
        value = [value] if segment == "[]" else {"any" if segment == "*" else segment: value}
    return value


@pytest.mark.slow
def test_the_sensitive_paths_are_the_ones_the_installed_openclaw_redacts(tmp_path):
    """Re-derives openclaw_secret_paths.py from the installed gateway package (about 3 s), and refuses each."""
    runtime = OpenClawRuntime.default()  # RuntimeMissing fails the test: `make test` installs the runtime
    assert runtime.version == openclaw_secret_paths.OPENCLAW_VERSION
    script = Path(__file__).resolve().parents[2] / "scripts" / "openclaw_secret_paths.mjs"
    env = {**runtime.env(), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    for name in ("OPENCLAW_STATE_DIR", "OPENCLAW_CONFIG_PATH"):
        env.pop(name, None)
    out = subprocess.run([str(runtime.node), str(script), str(runtime.entry.parent)], capture_output=True,
                         text=True, timeout=120, env=env, cwd=tmp_path, check=True)
    derived = json.loads(out.stdout)
    assert sorted(derived) == sorted(openclaw_secret_paths.SENSITIVE_PATHS)
    for path in derived:
        with pytest.raises(ValidationFailed):
            config_policy.check_config(_holding(path, "plain"))
