"""Screenshots of the running leaderboard in headless Chromium, driven over the DevTools protocol.

    python leaderboard/screenshot.py http://127.0.0.1:8501/ docs/leaderboard.png
    python leaderboard/screenshot.py http://127.0.0.1:8501/ shots/ --tour

Waits until the page shows the selector given with --wait-for (default: a data table), then saves a PNG.
With --tour, visits every page of the app at 1280x800 and at 400 px wide in one browser, saves a PNG of
each and lists what went wrong: browser console errors, uncaught script errors, Python exceptions shown on
the page, pages wider than the window or taller than `MAX_HEIGHT`, and key columns of the few-shot table
(`KEY_COLUMNS`) not wholly inside the window.
Chromium runs with a throw-away profile and its background networking switched off, so it works offline.
Uses the `websockets` client, which Streamlit already depends on.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
)  # fmt: skip
TABLE = '[data-testid="stDataFrame"]'
CHART = '[data-testid="stVegaLiteChart"]'
# Each page of the app (its URL path) and what it shows once its script has run on the shipped records.
PAGES = {
    "": TABLE,
    "significance": TABLE,
    "curves": CHART,
    "optimizers": CHART,
    "inner_loop": CHART,
    "methods": '[data-testid="stExpander"]',
    "submit": '[data-testid="stFileUploader"]',
}
SIZES = {"desktop": (1280, 800), "narrow": (400, 800)}
# The columns of a page's first table a visitor must see without scrolling sideways, at every size.
KEY_COLUMNS = {"": ("Rank", "Entry", "Accuracy (%)", "Verdict")}
# The tallest a page may scroll at a width: an answer a visitor has to scroll 8,000 px for is not an answer.
MAX_HEIGHT = {1280: 6000, 400: 12000}
# The grid (glide data grid) draws on a canvas; the accessibility table inside it names the columns in the
# order they are drawn, pinned ones first.
GRID = '[data-testid="stDataFrame"] canvas'
HEADERS = (
    f"Array.from(document.querySelector({json.dumps(GRID)}).querySelectorAll('th[role=columnheader]'))"
    ".sort((a, b) => a.ariaColIndex - b.ariaColIndex).map(th => th.textContent)"
)
HEADER_ROW = 35  # px: Streamlit's header height, at the top of the grid's canvas
# Streamlit scrolls inside its main block, so the page's own height says nothing: the tallest element does.
HEIGHT = "Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))"
# Opened at a page's own URL, Streamlit's front end first asks for its health and host config under that
# path, to learn whether the app is served below a base path; the 404s it expects there are not errors.
BASE_PATH_PROBE = re.compile(r"/[^/]+/_stcore/(health|host-config)$")


def find_chromium() -> str | None:
    """The path of a Chromium binary on PATH, or None."""
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


class DevTools:
    """A minimal DevTools-protocol session on one page target."""

    def __init__(self, connection):
        self.connection, self.ids = connection, itertools.count(1)
        self.events: list[dict] = []  # notifications that arrived while waiting for replies

    def call(self, method: str, **params) -> dict:
        call_id = next(self.ids)
        self.connection.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.connection.recv(timeout=60))
            if "id" not in reply:
                self.events.append(reply)
            elif reply.get("id") == call_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def count(self, selector: str) -> int:
        script = f"document.querySelectorAll({json.dumps(selector)}).length"
        result = self.call("Runtime.evaluate", expression=script, returnByValue=True)
        return int(result["result"].get("value") or 0)


def _debugging_port(profile: Path, deadline: float) -> int:
    port_file = profile / "DevToolsActivePort"
    while time.monotonic() < deadline:
        if port_file.exists() and (text := port_file.read_text().split()):
            return int(text[0])
        time.sleep(0.1)
    raise TimeoutError("Chromium did not open its DevTools port")


def _page_socket(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
        targets = json.load(response)
    return next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")


def _capture(
    session: DevTools,
    url: str,
    out: Path,
    wait_for: str,
    size: tuple[int, int],
    timeout: float,
    settle: float,
):
    width, height = size
    session.call(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    session.call("Page.navigate", url=url)
    deadline = time.monotonic() + timeout
    while session.count(f'{wait_for}, [data-testid="stException"]') == 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} showed no {wait_for} within {timeout:.0f} s")
        time.sleep(0.25)
    while session.count('[data-testid="stStatusWidget"]') and time.monotonic() < deadline:
        time.sleep(0.25)  # the script is still running: later elements may yet appear
    time.sleep(settle)  # let the data grid paint its canvas and charts draw
    shot = session.call("Page.captureScreenshot", format="png")
    out.write_bytes(base64.b64decode(shot["data"]))


def screenshot(
    url: str,
    out: str | Path,
    wait_for: str = TABLE,
    size: tuple[int, int] = (1600, 1000),
    timeout: float = 60,
    settle: float = 2.0,
) -> Path:
    """Opens `url` in headless Chromium, waits for `wait_for` to appear, and saves a PNG to `out`.

    Args:
        url: the page to load.
        out: the PNG file to write.
        wait_for: CSS selector that must be present before the screenshot. Defaults to a data table.
        size: viewport width and height in pixels. Defaults to (1600, 1000).
        timeout: seconds to wait for Chromium and for the selector. Defaults to 60.
        settle: seconds to wait after the selector appears, for canvases and charts to draw. Defaults to 2.

    Raises:
        FileNotFoundError: when no Chromium is installed.
        TimeoutError: when the page or the element does not appear in time.
    """
    out = Path(out)
    with browser(timeout) as session:
        _capture(session, url, out, wait_for, size, timeout, settle)
    return out


def tour(base_url: str, out_dir: str | Path, timeout: float = 60, settle: float = 1.5) -> list[str]:
    """Visits every page (`PAGES`) at every size (`SIZES`) in one browser, saves `<page>-<size>.png` in
    `out_dir`, and returns the problems found, one line each (empty when there are none)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    problems = []
    with browser(timeout) as session:
        session.call("Runtime.enable")
        session.call("Log.enable")
        for size_name, size in SIZES.items():
            for path, wait_for in PAGES.items():
                name = f"{path or 'few_shot'}-{size_name}"
                session.events.clear()
                try:
                    _capture(
                        session, base_url + path, out_dir / f"{name}.png", wait_for, size, timeout, settle
                    )
                except TimeoutError as error:
                    problems.append(f"{name}: {error}")
                    continue
                found = _page_problems(session, size[0])
                if path in KEY_COLUMNS and not session.count('[data-testid="stException"]'):
                    found += key_column_problems(session, KEY_COLUMNS[path], size[0])
                problems += [f"{name}: {problem}" for problem in found]
    return problems


def _page_problems(session: DevTools, width: int) -> list[str]:
    found = []
    exceptions = session.count('[data-testid="stException"]')
    if exceptions:
        found.append(f"{exceptions} Python exception(s) shown on the page")
    overflow = session.call(
        "Runtime.evaluate", expression="document.documentElement.scrollWidth", returnByValue=True
    )["result"].get("value", 0)
    if overflow > width + 1:
        found.append(f"the page is {overflow} px wide in a {width} px window")
    height = session.call("Runtime.evaluate", expression=HEIGHT, returnByValue=True)["result"].get("value", 0)
    if height > MAX_HEIGHT.get(width, 12000):
        found.append(f"the page is {height} px tall at {width} px (at most {MAX_HEIGHT.get(width, 12000)})")
    for event in session.events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.exceptionThrown":
            found.append(f"script error: {params['exceptionDetails'].get('text', '')}")
        elif event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            found.append(f"console error: {text[:300]}")
        elif event.get("method") == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            if BASE_PATH_PROBE.search(entry.get("url", "")):
                continue
            found.append(f"console error: {entry.get('text', '')[:300]} {entry.get('url', '')}")
    return found


def _evaluate(session: DevTools, expression: str):
    return session.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


def _grid_box(session: DevTools) -> tuple[float, float, float]:
    """Left, top and right (viewport px) of the first table's canvas."""
    box = f"document.querySelector({json.dumps(GRID)}).getBoundingClientRect()"
    return tuple(_evaluate(session, f"(r => [r.left, r.top, r.right])({box})"))


def column_edges(session: DevTools, width: int, wanted: int, step: int = 7) -> list[float]:
    """The right edges (viewport x) of the first `wanted` columns of the page's first table that lie
    inside a `width` px window. The canvas does not say where its columns are, so the mouse sweeps its
    header row: the grid shows a `col-resize` cursor within about 5 px either side of a column's edge
    (wider than `step`, so no edge is stepped over)."""
    _evaluate(session, f"document.querySelector({json.dumps(GRID)}).scrollIntoView({{block: 'nearest'}})")
    left, top, right = _grid_box(session)
    stop = int(min(right, width))

    def at_edge(x: int) -> bool:
        session.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=top + HEADER_ROW / 2)
        return _evaluate(session, f"document.querySelector({json.dumps(GRID)}).style.cursor") == "col-resize"

    edges: list[float] = []
    reach = None  # how far either side of an edge the cursor changes, measured on the first edge
    x = int(left) + 1
    while x < stop and len(edges) < wanted:
        if not at_edge(x):
            x = x + step if x + step < stop or x == stop - 1 else stop - 1  # the last pixel too
            continue
        first = x
        while first - 1 > left and at_edge(first - 1):
            first -= 1
        if reach is None:
            last = x
            while last + 1 < stop and at_edge(last + 1):
                last += 1
            # A zone that runs into the border of the window or of the grid is cut short there.
            reach = (last - first) / 2 if last + 1 < stop else 5.0
        edges.append(first + reach)
        x = int(first + 2 * reach) + 2
    session.call("Input.dispatchMouseEvent", type="mouseMoved", x=0, y=0)  # leave no hover behind
    return edges


def key_column_problems(session: DevTools, columns: tuple[str, ...], width: int) -> list[str]:
    """The `columns` of the page's first table that are missing or not wholly inside a `width` px window,
    one line each."""
    if not session.count(GRID):
        return ["no table on the page"]
    headers = _evaluate(session, HEADERS)  # the columns drawn in the window, left to right
    found = [
        f"column {column!r} is not drawn in the {width} px window (drawn: {', '.join(headers)})"
        for column in columns
        if column not in headers
    ]
    places = {column: headers.index(column) for column in columns if column in headers}
    if not places:
        return found
    edges = column_edges(session, width, max(places.values()) + 1)
    left, _, right = _grid_box(session)
    shown = min(width, right)
    for column, place in places.items():
        start = left if place == 0 else edges[place - 1] if place <= len(edges) else None
        end = edges[place] if place < len(edges) else None
        if start is None or end is None:
            found.append(
                f"column {column!r} (number {place + 1}) runs past x {shown:.0f}, where the table ends in "
                f"the {width} px window"
            )
        elif start < 0 or end > shown + 1:
            found.append(
                f"column {column!r} (number {place + 1}) spans x {start:.0f} to {end:.0f}, beyond the "
                f"table's x {max(left, 0):.0f} to {shown:.0f} in the {width} px window"
            )
    return found


@contextlib.contextmanager
def browser(timeout: float = 60):
    """A DevTools session on a headless Chromium page, the browser stopped afterwards."""
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium on PATH (Debian: apt-get install chromium)")
    # Chromium's helper processes can still write to the profile for a moment after the browser exits;
    # a leftover throw-away profile must not fail a finished screenshot.
    with tempfile.TemporaryDirectory(prefix="tfmeta-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the browser and every helper it starts
        )
        try:
            port = _debugging_port(Path(profile), time.monotonic() + timeout)
            with connect(_page_socket(port), max_size=256 * 2**20, open_timeout=30) as connection:
                yield DevTools(connection)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("out", type=Path)
    parser.add_argument("--wait-for", default=TABLE, help=f"CSS selector to wait for (default: {TABLE})")
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--tour", action="store_true", help="every page at 1280x800 and 400 px into OUT/")
    args = parser.parse_args()
    if args.tour:
        problems = tour(args.url, args.out)
        print("\n".join(problems) or f"every page rendered cleanly; screenshots in {args.out}")
        raise SystemExit(1 if problems else 0)
    print(screenshot(args.url, args.out, args.wait_for, (args.width, args.height)))


if __name__ == "__main__":
    main()
