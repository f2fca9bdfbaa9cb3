"""Following a bot's workflow to its end, as `bot create` and the lifecycle commands do.

Progress comes from the stream API: the CLI subscribes (to the fleet for a create, whose bot id is not
known yet, else to the bot) BEFORE it sends the request, so no message can be missed, and keeps the
messages about its bot and request. Whether the workflow has ended is always read from the API (the
bot no longer carries this request's intent), on each status message and every few seconds besides;
when the stream cannot be reached, or drops, the CLI polls the bot and GET .../provisioning instead.

On a terminal (stderr) the progress is a live table; otherwise one plain line per change, on stderr,
so stdout holds only the result in the chosen --output format.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from clawster.cli.exits import CliError, ExitCode

OPEN_TIMEOUT_S = 10
POLL_S = 1.0  # without the stream: how often the bot and its steps are read
CHECK_S = 5.0  # with the stream: how often the bot is read anyway (a safety net, not the signal)


def post_followed(api: Any, path: str, body: dict, stream: Stream | None) -> dict:
    """POST a request whose progress `stream` (opened before it, so no message is missed) follows; the stream is
    closed when the request fails."""
    try:
        return api.call("POST", path, body)[1]
    except BaseException:
        if stream:
            stream.close()
        raise


class Stream:
    """One topic of the stream API, read on a thread into a queue. `open` returns None (and says why on
    stderr) when the stream cannot be reached: callers then poll."""

    def __init__(self, socket: Any):
        self.socket = socket
        self.messages: queue.Queue[dict] = queue.Queue()
        self.closed = threading.Event()
        threading.Thread(target=self._read, name="clawster-stream", daemon=True).start()

    @classmethod
    def open(cls, ws_url: str | None, token: str | None, topic: str) -> Stream | None:
        if not ws_url or not token:
            return None
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        try:
            socket = connect(f"{ws_url.rstrip('/')}/?token={quote(token)}", open_timeout=OPEN_TIMEOUT_S, legacy=True)
        except (OSError, TimeoutError, WebSocketException) as error:
            print(f"(live progress unavailable: cannot reach {ws_url}: {error or 'timed out'}; polling instead)",
                  file=sys.stderr)
            return None
        try:
            socket.send(json.dumps({"action": "subscribe", "topic": topic}))
            reply = json.loads(socket.recv(timeout=OPEN_TIMEOUT_S))
        except (OSError, TimeoutError, WebSocketException, ValueError) as error:
            socket.close()
            print(f"(live progress unavailable: {error or 'no reply'}; polling instead)", file=sys.stderr)
            return None
        if reply.get("type") != "subscribed":
            socket.close()
            print(f"(live progress unavailable: {reply.get('data')}; polling instead)", file=sys.stderr)
            return None
        return cls(socket)

    def _read(self) -> None:
        try:
            for raw in self.socket:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    self.messages.put(message)
        except Exception:  # noqa: BLE001 - any end of the socket means: poll from here on
            pass
        finally:
            self.closed.set()

    def next(self, timeout_s: float) -> dict | None:
        try:
            return self.messages.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        try:
            self.socket.close()
        except Exception:  # noqa: BLE001 - closing a socket that already failed
            pass


@dataclass
class StepView:
    step: str
    status: str
    attempts: int = 0
    detail: str = ""
    error: str = ""
    first_seen: float = field(default_factory=time.monotonic)
    ended: float | None = None


class Display:
    """What the user sees while waiting: a live table on a terminal, else plain lines (both on stderr)."""

    def __init__(self, title: str, started: float, live: bool | None = None):
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.live_mode = self.console.is_terminal if live is None else live
        self.title, self.started = title, started
        self.status = ""
        self.steps: dict[str, StepView] = {}
        self._live: Any = None
        self._spinning = True
        self._spinners: dict[str, Any] = {}
        if self.live_mode:
            from rich.live import Live

            # re-rendered at each refresh: the clocks and spinners move between messages
            self._live = Live(console=self.console, refresh_per_second=8, get_renderable=self._render)
            self._live.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def set_status(self, status: str) -> None:
        if status and status != self.status:
            self.status = status
            self._line(f"{self.elapsed():6.1f}s  bot {status}")
            self._refresh()

    def set_step(self, data: dict[str, Any]) -> None:
        name, status = str(data.get("step") or "?"), str(data.get("status") or "")
        view = self.steps.get(name)
        changed = view is None or view.status != status
        if view is None:
            view = self.steps[name] = StepView(name, status)
        view.status, view.attempts = status, int(data.get("attempts") or view.attempts)
        view.detail, view.error = str(data.get("detail") or ""), str(data.get("error") or "")
        if status in ("SUCCEEDED", "FAILED") and view.ended is None:
            view.ended = time.monotonic()
        if changed:
            extra = f"  {view.error or view.detail}" if (view.error or view.detail) else ""
            self._line(f"{self.elapsed():6.1f}s  step {name} {status}{extra}")
        self._refresh()

    def close(self) -> None:
        if self._live:
            self._spinning = False
            self._live.refresh()
            self._live.stop()
            self._live = None

    def _line(self, text: str) -> None:
        if not self.live_mode:
            print(text, file=sys.stderr, flush=True)

    def _refresh(self) -> None:
        if self._live:
            self._live.refresh()

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        spinning = self._spinning
        table = Table(title=f"{self.title}: [bold]{self.status or '…'}[/]  {self.elapsed():.1f}s", title_justify="left",
                      box=None, show_edge=False, pad_edge=False)
        for header in ("", "STEP", "STATUS", "TRIES", "TIME", "DETAIL"):
            table.add_column(header)
        marks = {"SUCCEEDED": "[green]✓[/]", "FAILED": "[red]✗[/]"}
        for view in self.steps.values():
            mark: Any = marks.get(view.status) or (self._spinners.setdefault(view.step, Spinner("dots"))
                                                   if spinning else "·")
            took = (view.ended or time.monotonic()) - view.first_seen
            table.add_row(mark, view.step, view.status, str(view.attempts or ""), f"{took:.1f}s",
                          (view.error or view.detail)[:100])
        return table


def follow(api: Any, bot_path: str, bot_id: str, request_id: str, stream: Stream | None, *,
           title: str, timeout_s: float, started: float | None = None) -> dict | None:
    """Wait until the workflow of `request_id` has ended on the bot; the bot then (None: it was deleted).
    A CliError when `timeout_s` runs out (the workflow goes on: the message says how to follow it)."""
    display = Display(title, started or time.monotonic())
    try:
        return _follow(api, bot_path, bot_id, request_id, stream, display, timeout_s)
    except KeyboardInterrupt:
        raise CliError(ExitCode.FAILURE, f"stopped watching; the workflow goes on: `clawster bot status {bot_id}`") \
            from None
    finally:
        display.close()
        if stream:
            stream.close()


def _follow(api: Any, bot_path: str, bot_id: str, request_id: str, stream: Stream | None, display: Display,
            timeout_s: float) -> dict | None:
    deadline = time.monotonic() + timeout_s
    next_check = 0.0
    while time.monotonic() < deadline:
        live = stream is not None and not stream.closed.is_set()
        message = stream.next(timeout_s=0.25) if live else None
        check = time.monotonic() >= next_check
        if message and (message.get("data") or {}).get("bot_id") == bot_id:
            data, kind = message["data"], message.get("type")
            if kind == "bot.deleted":
                return None
            if kind == "bot.step" and data.get("request_id") == request_id:
                display.set_step(data)
            elif kind == "bot.status":
                display.set_status(str(data.get("status") or ""))
                check = True
        if not check:
            if not live and message is None:
                time.sleep(0.05)
            continue
        next_check = time.monotonic() + (CHECK_S if live else POLL_S)
        bot = _read_bot(api, bot_path)
        if bot is None:
            return None
        if not live or _ended(bot, request_id):
            _sync_steps(api, bot_path, request_id, display)
        display.set_status(bot["status"])
        if _ended(bot, request_id):
            return bot
    bot = _read_bot(api, bot_path) or {}
    raise CliError(ExitCode.FAILURE, f"gave up waiting after {timeout_s:.0f}s: the bot is {bot.get('status')} and its "
                                     f"workflow goes on (follow it with `clawster bot status {bot_id}`)")


def _ended(bot: dict, request_id: str) -> bool:
    return (bot.get("intent") or {}).get("id") != request_id


def _read_bot(api: Any, bot_path: str) -> dict | None:
    try:
        return api.get(bot_path)
    except CliError as error:
        if error.code == ExitCode.NOT_FOUND:
            return None
        raise


def _sync_steps(api: Any, bot_path: str, request_id: str, display: Display) -> None:
    """Show the recorded steps of this request (polling, or a last look once it ended)."""
    try:
        provisioning = api.get(f"{bot_path}/provisioning")
    except CliError as error:
        if error.code == ExitCode.NOT_FOUND:
            return
        raise
    if (provisioning.get("workflow") or {}).get("id") != request_id:
        return
    for step in provisioning.get("steps") or []:
        display.set_step(step)
