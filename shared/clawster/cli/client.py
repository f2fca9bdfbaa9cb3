"""The API client: one request function that turns every failure into a one-line CliError with the
exit code that classifies it, plus the two conventions the API has: cursors and If-Match."""

from __future__ import annotations

import http.client
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from clawster.cli.exits import CliError, ExitCode, for_status

MAX_PAGE = 100  # the API's largest page


class Api:
    def __init__(self, url: str, token: str | None, timeout_s: float = 30):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None,
             headers: dict | None = None) -> tuple[dict[str, str], Any]:
        """(response headers, names in lower case; decoded JSON body or None); a CliError for anything but 2xx."""
        url = self.url + path
        if query := {k: v for k, v in (query or {}).items() if v is not None}:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
                headers = {name.lower(): value for name, value in response.headers.items()}
                return headers, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raise _api_error(error.code, error.read()) from None
        except urllib.error.URLError as error:
            raise CliError(ExitCode.UNREACHABLE, f"cannot reach {self.url}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise CliError(ExitCode.UNREACHABLE, f"cannot reach {self.url}: {error or 'timed out'}") from None
        except http.client.HTTPException as error:
            raise CliError(ExitCode.FAILURE, f"{method} {path}: broken HTTP response ({error!r})") from None
        except ValueError:
            raise CliError(ExitCode.FAILURE, f"{method} {path}: the API answered something that is not JSON") from None

    def get(self, path: str, query: dict | None = None) -> Any:
        return self.call("GET", path, query=query)[1]

    def page(self, path: str, query: dict, limit: int | None, cursor: str | None, every: bool) -> dict:
        """One page (and a hint on stderr when there are more), or with `every` all of them."""
        items: list = []
        while True:
            page = self.get(path, {**query, "limit": limit or MAX_PAGE, "cursor": cursor})
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor or not every:
                break
        if cursor:
            print(f"more results: run again with --cursor {cursor} (or --all for every page)", file=sys.stderr)
        return {"items": items, "next_cursor": cursor}

    def write(self, method: str, path: str, body: Any = None, if_match: str | None = None) -> Any:
        """PATCH/DELETE with If-Match: the version given, else the one a GET returns now."""
        if if_match is None:
            headers, _ = self.call("GET", path)
            if_match = headers.get("etag")
            if not if_match:
                raise CliError(ExitCode.FAILURE, f"GET {path} returned no ETag to send back in If-Match")
        elif not if_match.startswith(('"', "W/")):
            if_match = f'"{if_match}"'
        return self.call(method, path, body, headers={"If-Match": if_match})[1]


def _api_error(status: int, raw: bytes) -> CliError:
    try:
        detail = json.loads(raw)
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        detail = {"message": raw.decode(errors="replace").strip()[:300]}
    message = f"{status} {detail.get('code', '')}: {detail.get('message', '')}".replace(" :", ":")
    rows = (detail.get("details") or {}).get("errors") or []
    message += "".join(f"\n  {row.get('field')}: {row.get('reason')}" for row in rows if isinstance(row, dict))
    if status == 401:
        message += "\n  (the token is missing, expired or not accepted here: run `clawster login`, or pass --token)"
    return CliError(for_status(status), message)
