"""How soon the web console's first page is interactive on the local stack, in headless chromium, and how much
JavaScript it ships.

Measured: a signed-in user's first page (the workspace list), from the navigation start of the page the hosted UI
sends back with the code, to the console's `clawster:interactive` mark (set when the list and its controls are
shown). That span holds what production pays: the page and its scripts, config.json, the token exchange and the
first API call. Each run uses a new browser context (a cold cache). Aim: under 2 s.

Baseline, in the same run and browser: the local hosted UI's sign-in form (a server-rendered page, no script)
from its navigation start to its load event: the floor this server and browser set for any page.
Runs alternate (baseline, console, ...). Printed: min and median of each, the ratio of the medians, and the
first page's JavaScript as sent compressed (gzip) against its 250 KB budget.

Run: make bench-console   (or .venv/bin/python bench/console_first_page.py [--runs 15])
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared")]
for name, value in {"TABLE_NAME": "clawster-bench", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
                    "AWS_SECRET_ACCESS_KEY": "local", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                    "POWERTOOLS_TRACE_DISABLED": "true"}.items():
    os.environ.setdefault(name, value)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
BUDGET_BYTES = 250 * 1024


def sign_in_form_load_ms(browser, url: str) -> float:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        return page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    finally:
        context.close()


def console_interactive_ms(browser, console_url: str, user: str, scripts: list[bytes] | None = None) -> float:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(console_url)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("User name").fill(user)
        if scripts is not None:  # the JavaScript the signed-in page loads (uncompressed bodies)
            page.on("response", lambda r: scripts.append(r.body()) if r.request.resource_type == "script" else None)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Workspaces").wait_for(timeout=60_000)
        for _ in range(1200):  # polled: the page's CSP forbids the string evaluation wait_for_function uses
            mark = page.evaluate("performance.getEntriesByName('clawster:interactive').map(m => m.startTime)")
            if mark:
                return mark[0]
            page.wait_for_timeout(50)
        raise SystemExit("the console never marked itself interactive")
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from clawster.local.hosted_ui import CLIENT_ID
    from clawster.local.stack import LocalStack
    from tests.helpers import Client

    with tempfile.TemporaryDirectory() as state, LocalStack(state, api_port=0, moto_port=0, seed=False,
                                                            keep_gateways=False) as stack:
        user = "bench-user"
        owner = Client(stack.api_url, stack.issuer.issue(user))
        for n in range(5):  # a page with data in it, as an operator's is
            owner.post("/workspaces", {"name": f"Workspace {n}"}).ok(201)
        form = (f"{stack.api_url}/oauth2/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri="
                f"{stack.api_url}/console/&scope=openid&state=s&code_challenge={'a' * 43}&code_challenge_method=S256")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            scripts: list[bytes] = []
            console_interactive_ms(browser, stack.console_url, user, scripts)  # warm-up (and the scripts' sizes)
            sign_in_form_load_ms(browser, form)
            baseline, measured = [], []
            for _ in range(args.runs):
                baseline.append(sign_in_form_load_ms(browser, form))
                measured.append(console_interactive_ms(browser, stack.console_url, user))
            browser.close()

    shipped = sum(len(gzip.compress(body, 6)) for body in scripts)
    print(f"runs: {args.runs} each, alternating; cold cache per run")
    print(f"baseline (sign-in form, navigation to load):  min {min(baseline):7.1f} ms  median "
          f"{statistics.median(baseline):7.1f} ms")
    print(f"console (navigation to interactive):          min {min(measured):7.1f} ms  median "
          f"{statistics.median(measured):7.1f} ms   aim < 2000 ms")
    print(f"ratio console/baseline (medians): {statistics.median(measured) / statistics.median(baseline):.2f}")
    print(f"first page JavaScript: {len(scripts)} files, {shipped / 1024:.1f} KB gzip "
          f"({sum(map(len, scripts)) / 1024:.1f} KB raw); budget {BUDGET_BYTES // 1024} KB gzip")


if __name__ == "__main__":
    main()
