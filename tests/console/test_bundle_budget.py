"""The JavaScript the console's first page ships stays under 250 KB compressed (gzip, as CloudFront and browsers
negotiate it): what index.html loads (its module script and every preload), read from the build. Other pages are
separate chunks, loaded when visited. The bench (bench/console_first_page.py) measures the same in the browser."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

DIST = Path(__file__).resolve().parents[2] / "console" / "dist"
BUDGET = 250 * 1024


def first_page_scripts(index_html: str) -> list[str]:
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', index_html)
    preloads = re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', index_html)
    return scripts + preloads


def test_the_first_page_ships_under_250_kb_of_compressed_javascript():
    files = first_page_scripts((DIST / "index.html").read_text())
    assert files, "index.html loads no script: is the build broken?"
    sizes = {name: len(gzip.compress((DIST / name.removeprefix("/console/")).read_bytes(), 6)) for name in files}
    assert sum(sizes.values()) < BUDGET, f"first page JavaScript {sum(sizes.values())} B gzip over the budget: {sizes}"


def test_pages_other_than_the_first_are_split_off():
    """Later pages must not grow the first page: the build has chunks that index.html does not load."""
    loaded = {Path(name).name for name in first_page_scripts((DIST / "index.html").read_text())}
    chunks = {path.name for path in (DIST / "assets").glob("*.js")}
    assert chunks - loaded, "every page is in the first page's bundle"


def test_the_finder_sees_scripts_and_preloads():
    html = ('<script type="module" crossorigin src="/console/assets/index-a.js"></script>'
            '<link rel="modulepreload" crossorigin href="/console/assets/react-b.js">')
    assert first_page_scripts(html) == ["/console/assets/index-a.js", "/console/assets/react-b.js"]
