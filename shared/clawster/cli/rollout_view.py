"""The live view of a rollout, for `clawster rollout watch` and `rollout create --watch`.

The view is the rollout as GET .../rollouts/{id} shows it (waves, each with its bots), kept current by the
stream's rollout.status / rollout.wave / rollout.bot messages and read again from the API every few seconds
(the stream is the signal, the API the truth; without the stream the CLI polls). On a terminal (stderr) it is a
table redrawn in place with plain ANSI (cursor up, clear below), cut to the terminal's size; otherwise one plain
line per message, so pipes and logs get a story and stdout only the result.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, TextIO

from clawster.cli.output import cell, col, table

ENDED = ("SUCCEEDED", "ROLLED_BACK", "FAILED")
WORKING = ("PENDING", "APPLYING")  # a bot not done with its change yet
TROUBLE = ("FAILED", "ROLLBACK_FAILED")
# Which bots keep a row when the terminal is too short for all: trouble first, then those moving, then the rest.
PRIORITY = {state: rank for rank, state in enumerate(
    ("ROLLBACK_FAILED", "FAILED", "APPLYING", "ROLLING_BACK", "ROLLED_BACK", "DONE", "PENDING"))}
WAVES = [col("WAVE", "number"), col("STATUS"), col("DONE", "done_of"), col("FAILED", "failed_now"),
         ("GATES", lambda w: " ".join(f"{g}={r}" for g, r in (w.get("readings") or {}).items())),
         col("VERDICT"), col("REASON")]
BOTS = [col("BOT", "bot_id"), col("WAVE"), col("STATE"), col("HEALTH"), col("DETAIL")]
REDRAW_S = 0.25  # at most this often on a terminal: a wave of many bots sends many messages


# -- the view ------------------------------------------------------------------------------------------
def apply(view: dict[str, Any], message: dict[str, Any]) -> bool:
    """Fold one stream message into the view; False when it is not about this rollout."""
    data, kind = message.get("data") or {}, message.get("type")
    if data.get("rollout_id") != view.get("id"):
        return False
    if kind == "rollout.status":
        view["status"] = data.get("status", view.get("status"))
        view["status_reason"] = data.get("reason")
    elif kind == "rollout.wave":
        wave = _wave(view, data.get("wave"))
        if wave is not None:
            wave.update({k: data[k] for k in ("status", "verdict", "reason", "readings") if k in data})
            view["current_wave"] = max(int(view.get("current_wave") or 0), int(wave["number"]))
    elif kind == "rollout.bot":
        wave = _wave(view, data.get("wave"))
        if wave is not None:
            bot = next((b for b in wave.setdefault("bots", []) if b.get("bot_id") == data.get("bot_id")), None)
            if bot is None:
                wave["bots"].append(bot := {})
            bot.update({k: v for k, v in data.items() if k != "rollout_id"})
    return True


def _wave(view: dict[str, Any], number: Any) -> dict[str, Any] | None:
    return next((w for w in view.get("waves") or [] if w.get("number") == number), None)


# -- on a terminal ---------------------------------------------------------------------------------------
def render(view: dict[str, Any], *, width: int | None = None, height: int | None = None) -> list[str]:
    """The view as lines: a heading, the waves (live done and failed counts from their bots, the gate readings
    and verdict of each evaluated wave), then the bots. Cut to `height` lines (the bots that matter most keep
    their rows; a last line counts the others) and each line to `width` characters."""
    heading = f"rollout {view.get('id')}  {view.get('status')}  wave {view.get('current_wave') or 0}/" \
              f"{view.get('wave_count', len(view.get('waves') or []))}  {view.get('bot_count', '')} bots".rstrip()
    lines = [heading] + ([f"  {view['status_reason']}"] if view.get("status_reason") else []) + [""]
    waves = []
    for wave in view.get("waves") or []:
        states = [b.get("state") for b in wave.get("bots") or []]
        waves.append({**wave, "done_of": f"{sum(s not in WORKING for s in states)}/{len(states)}",
                      "failed_now": sum(s in TROUBLE for s in states)})
    lines += table(WAVES, waves).splitlines() + [""]
    bots = [b for wave in view.get("waves") or [] for b in wave.get("bots") or []]
    room = len(bots) if height is None else max(0, height - len(lines) - 2)  # the BOT header and a "more" line
    shown = bots
    if len(bots) > room:
        keep = sorted(bots, key=lambda b: PRIORITY.get(b.get("state"), -1))[:room]
        shown = [b for b in bots if any(b is k for k in keep)]
    lines += table(BOTS, shown).splitlines()
    if len(shown) < len(bots):
        hidden = Counter(b.get("state") for b in bots if not any(b is s for s in shown))
        lines.append(f"... {len(bots) - len(shown)} more bots: " +
                     ", ".join(f"{n} {state}" for state, n in sorted(hidden.items(), key=lambda i: PRIORITY.get(i[0], -1))))
    return [line[:width] for line in lines] if width else lines


class Screen:
    """Redraws its lines in place: back to the first line drawn (CSI n F), clear below (CSI J), draw."""

    def __init__(self, out: TextIO):
        self.out, self.drawn = out, 0

    def draw(self, lines: list[str]) -> None:
        back = f"\x1b[{self.drawn}F" if self.drawn else ""
        self.out.write(back + "\x1b[J" + "".join(line + "\n" for line in lines))
        self.out.flush()
        self.drawn = len(lines)


# -- as plain lines ----------------------------------------------------------------------------------------
def line(message: dict[str, Any]) -> str:
    data, kind = message.get("data") or {}, message.get("type", "")
    if kind == "rollout.bot":
        return f"bot {data.get('bot_id')} (wave {data.get('wave')}): {data.get('state')}" + \
            (f" - {data['detail']}" if data.get("detail") else "")
    if kind == "rollout.wave":
        readings = data.get("readings") or {}
        gates = f" [{cell(readings)}]" if readings else ""
        verdict = f" {data['verdict']}: {data.get('reason')}" if data.get("verdict") else ""
        return f"wave {data.get('wave')}: {data.get('status')}{verdict}{gates}"
    return f"rollout: {data.get('status')}" + (f" ({data['reason']})" if data.get("reason") else "")


# -- the loop ------------------------------------------------------------------------------------------------
def follow(api: Any, path: str, stream: Any, *, ceiling_s: float, live: bool | None = None,
           out: TextIO | None = None) -> dict[str, Any]:
    """Follow the rollout until it ends; its last view (read from the API). A CliError past `ceiling_s`."""
    from clawster.cli.exits import CliError, ExitCode
    from clawster.cli.watch import POLL_S

    watch = _Watch(api, path, out or sys.stderr, live)
    deadline = time.monotonic() + ceiling_s
    try:
        while True:
            streaming = stream is not None and not stream.closed.is_set()
            message = stream.next(0.25) if streaming else None
            decided = watch.take(message) if message else False
            watch.refresh(streaming, now=decided)
            if watch.view["status"] in ENDED:
                return watch.view
            if time.monotonic() > deadline:
                raise CliError(ExitCode.FAILURE, f"rollout {watch.view['id']} still {watch.view['status']} after "
                                                 f"{ceiling_s:g} s; it goes on (follow it with `clawster rollout watch`)")
            if not streaming:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        raise CliError(ExitCode.FAILURE, f"stopped watching; rollout {watch.view['id']} goes on") from None
    finally:
        if stream:
            stream.close()


class _Watch:
    """The view being followed, and where it is shown: a Screen on a terminal, else plain lines."""

    def __init__(self, api: Any, path: str, out: TextIO, live: bool | None):
        from clawster.cli.watch import CHECK_S

        self.api, self.path, self.out = api, path, out
        self.live = out.isatty() if live is None else live
        self.screen = Screen(out) if self.live else None
        self.told = ""  # off a terminal: the last status said (by a message, or read when no message said it)
        self.view = api.get(path)
        self.next_read, self.drawn_at = time.monotonic() + CHECK_S, 0.0
        self._tell()

    def take(self, message: dict[str, Any]) -> bool:
        """Fold a message in and say it; True when it carries a gate's decision (which may move the status)."""
        if not apply(self.view, message):
            return False
        if message.get("type") == "rollout.status":
            self._tell()
        elif not self.live:
            print(line(message), file=self.out, flush=True)
        return bool((message.get("data") or {}).get("verdict"))

    def refresh(self, streaming: bool, *, now: bool) -> None:
        """Read the rollout again when asked, at its end, or when due; redraw the screen when due."""
        import shutil

        from clawster.cli.watch import CHECK_S, POLL_S

        ended = self.view["status"] in ENDED
        if now or ended or time.monotonic() >= self.next_read:
            self.view = self.api.get(self.path)
            self.next_read = time.monotonic() + (CHECK_S if streaming else POLL_S)
            self._tell()
        if self.screen and (ended or self.view["status"] in ENDED or time.monotonic() - self.drawn_at >= REDRAW_S):
            size = shutil.get_terminal_size()
            self.screen.draw(render(self.view, width=size.columns - 1, height=size.lines - 1))
            self.drawn_at = time.monotonic()

    def _tell(self) -> None:
        view = self.view
        if not self.live and view["status"] != self.told:
            print(f"rollout: {view['status']}" + (f" ({view['status_reason']})" if view.get("status_reason") else ""),
                  file=self.out, flush=True)
        self.told = view["status"]
