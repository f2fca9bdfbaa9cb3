"""A loopback mock of an OpenAI-compatible model server, for agent turns without real model keys.

The real gateway, pointed at it through `provider_config()` (reference §11), calls
`POST /v1/chat/completions` with `stream: true` and expects SSE `chat.completion.chunk` events:
a role delta, content deltas, a `finish_reason: "stop"` chunk, a usage chunk, then `data: [DONE]`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class MockModel:
    def __init__(self, reply: str = "Hello from the Clawster mock model.", port: int = 0, api_key: str = "mock-key"):
        self.reply, self.api_key, self._port = reply, api_key, port
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self) -> MockModel:
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _Handler)
        self._server.mock = self  # type: ignore[attr-defined]  # how the handler finds its MockModel
        self._server.daemon_threads = True  # a hung client must not block stop()
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-model", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> MockModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def provider_config(self, model_id: str = "mock-1") -> dict:
        """The openclaw config fragment that makes `mock/<model_id>` the default agent model."""
        model = {"id": model_id, "name": "Mock 1", "reasoning": False, "input": ["text"], "contextWindow": 32000,
                 "maxTokens": 1024, "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0}}
        provider = {"baseUrl": self.base_url, "apiKey": self.api_key, "api": "openai-completions", "models": [model]}
        return {"models": {"providers": {"mock": provider}}, "agents": {"defaults": {"model": {"primary": f"mock/{model_id}"}}}}

    def _record(self, body: dict) -> None:
        with self._lock:
            self.requests.append(body)

    def completion_chunks(self, model: str) -> list[dict]:
        """The stream the gateway expects; the reply is split in ~3 deltas so clients see real streaming."""
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())
        size = max(1, -(-len(self.reply) // 3))
        parts = [self.reply[i:i + size] for i in range(0, len(self.reply), size)]
        usage = _usage(self.reply)

        def chunk(delta: dict, finish: str | None = None, **extra: Any) -> dict:
            choices = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
            return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices, **extra}

        return [chunk({"role": "assistant", "content": ""}), *(chunk({"content": p}) for p in parts),
                chunk({}, "stop"), chunk(None, usage=usage)]


def _usage(reply: str) -> dict:
    completion = max(1, len(reply.split()))
    return {"prompt_tokens": 10, "completion_tokens": completion, "total_tokens": 10 + completion}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as OpenAI clients expect

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, kind: str) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            return self._error(404, f"not found: {self.path}", "not_found")
        self._json(200, {"object": "list", "data": [{"id": "mock-1", "object": "model", "created": 0, "owned_by": "mock"}]})

    def do_POST(self) -> None:
        mock: MockModel = self.server.mock  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"not found: {self.path}", "not_found")
        if self.headers.get("Authorization") != f"Bearer {mock.api_key}":
            return self._error(401, "Incorrect API key provided.", "invalid_request_error")
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return self._error(400, "request body must be a JSON object", "invalid_request_error")
        mock._record(request)
        model = request.get("model", "mock-1")
        if request.get("stream"):
            return self._stream(mock.completion_chunks(model))
        message = {"role": "assistant", "content": mock.reply}
        self._json(200, {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                         "model": model, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                         "usage": _usage(mock.reply)})

    def _stream(self, chunks: list[dict]) -> None:
        # No Content-Length: the stream ends when the connection closes, like a real SSE response.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for c in chunks:
            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True
