"""Exit codes, defined once: scripts branch on them, `clawster --help` and the README list them."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # anything else, e.g. a 5xx from the API
    USAGE = 2  # a bad command line (click's own code)
    AUTH = 3  # no token, or the API said 401/403
    NOT_FOUND = 4  # 404
    CONFLICT = 5  # 409/412/428: someone changed it first, or the state does not allow it
    VALIDATION = 6  # 400/415/422: the API refused the input; the message names the field
    UNREACHABLE = 7  # connection refused or timed out, or the local stack is not running
    CONFIG = 8  # the config file is missing or malformed, or the profile does not exist
    BOT_ERROR = 9  # a command that waits for a bot's workflow saw it end in ERROR (the reason is printed)


MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.FAILURE: "other failure (e.g. a server error)",
    ExitCode.USAGE: "usage error",
    ExitCode.AUTH: "not authenticated or not allowed (401, 403, no token)",
    ExitCode.NOT_FOUND: "not found (404)",
    ExitCode.CONFLICT: "conflict: version changed or invalid state (409, 412, 428)",
    ExitCode.VALIDATION: "invalid input (400, 413, 415, 422)",
    ExitCode.UNREACHABLE: "API unreachable, or the local stack is not running",
    ExitCode.CONFIG: "config file missing or malformed, or unknown profile",
    ExitCode.BOT_ERROR: "the bot's workflow ended in ERROR (create and lifecycle commands that wait)",
}

_BY_STATUS = {
    400: ExitCode.VALIDATION, 413: ExitCode.VALIDATION, 415: ExitCode.VALIDATION, 422: ExitCode.VALIDATION,
    401: ExitCode.AUTH, 403: ExitCode.AUTH,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.CONFLICT, 412: ExitCode.CONFLICT, 428: ExitCode.CONFLICT,
}


def for_status(status: int) -> ExitCode:
    return _BY_STATUS.get(status, ExitCode.FAILURE)


def epilog() -> str:
    return "Exit codes:\n" + "\n".join(f"  {int(code)}  {text}" for code, text in MEANINGS.items())


class CliError(Exception):
    """A failure to report in one line, with the exit code that classifies it."""

    def __init__(self, code: ExitCode, message: str):
        super().__init__(message)
        self.code = code
