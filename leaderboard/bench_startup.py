"""How long the leaderboard takes to show its ranked few-shot table, cold and warm.

    python leaderboard/bench_startup.py
    python leaderboard/bench_startup.py --runs 5 --app ../baseline/leaderboard/app.py --app leaderboard/app.py

For each app it starts `streamlit run` headless on a free port with the shipped records only, and times in
headless Chromium (a fresh profile for each server):
- launch: from starting the server to its health check answering;
- first: from navigating to the app to the first paint of the ranked table, on a server's first visit,
  with no index of the user's records (`record_index`), as on the first run after installing;
- cold: the same on a freshly started server, the indexes made by an earlier run;
- warm: the same after reloading the page on a server that has shown it (a new session, warm caches).
Prints every run, then the medians. With several `--app`s the runs alternate between them, so that a busy
machine slows each alike; `--floor` adds Streamlit's own floor as one of them. Not a test: timings
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import screenshot  # noqa: E402  (the DevTools driver beside this file)

from tfmeta.records.locations import SERVER_OPTIONS  # noqa: E402

# The ranked table has painted once its grid lists rows in its accessibility table.
PAINTED = '[data-testid="stDataFrame"] canvas table[role="grid"] tbody tr'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(app: Path, results_dir: Path, cache: Path, shipped: bool = True, env: dict | None = None):
    """`streamlit run app` on a free localhost port, showing the records of `results_dir` and, with
    `shipped`, the shipped ones, its cache in `cache` and `env` added to its environment; yields its URL,
    the seconds it took to answer its health check and its process id."""
    port = free_port()
    env = {
        **os.environ, "TFMETA_RESULTS_DIR": str(results_dir), "TFMETA_CACHE_DIR": str(cache),
        "TFMETA_SHIPPED_RECORDS": "on" if shipped else "off", **(env or {}),
    }  # fmt: skip
    command = [
        sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
        "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
        *SERVER_OPTIONS,  # as `tfmeta leaderboard` serves it
    ]  # fmt: skip
    started = time.monotonic()
    # From the app's checkout, so that it runs with the `tfmeta` package beside it.
    process = subprocess.Popen(
        command,
        cwd=app.parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}_stcore/health", timeout=2):
                    break
            time.sleep(0.05)
        yield url, time.monotonic() - started, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def time_to_table(session: screenshot.DevTools, url: str, timeout: float = 120) -> float:
    """Seconds from navigating to `url` to the first paint of the ranked table."""
    started = time.monotonic()
    session.call("Page.navigate", url=url)
    while session.count(PAINTED) == 0:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"no ranked table at {url} within {timeout:.0f} s")
        time.sleep(0.02)
    return time.monotonic() - started


def one_run(app: Path, cache: Path, warm_runs: int) -> dict:
    """Launch and first-paint times of one server of `app`, and the median of `warm_runs` reloads."""
    with tempfile.TemporaryDirectory(prefix="tfmeta-bench-") as folder:
        with server(app, Path(folder), cache) as (url, launch, _), screenshot.browser() as session:
            width, height = screenshot.SIZES["desktop"]
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
            session.call("Emulation.setDeviceMetricsOverride", **metrics)
            cold = time_to_table(session, url)
            warm = [time_to_table(session, url) for _ in range(warm_runs)]
    return {"launch": launch, "cold": cold, "warm": statistics.median(warm)}


FLOOR_APP = """
import pandas as pd
import streamlit as st

st.set_page_config(page_title="floor", layout="wide")
st.title("Few-shot track")
st.dataframe(pd.DataFrame({"Rank": range(1, 10), "Entry": ["protonet"] * 9}), hide_index=True)
"""


def minimal_app(folder: Path) -> Path:
    """The least a Streamlit page with a table costs: the floor under any app's first paint here."""
    (folder / "floor").mkdir()
    app = folder / "floor" / "app.py"
    app.write_text(FLOOR_APP)
    return app


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().with_name("app.py")
    parser.add_argument("--app", type=Path, action="append", help=f"the app to time (default: {here})")
    parser.add_argument("--runs", type=int, default=3, help="server starts per app (default: 3)")
    parser.add_argument("--warm", type=int, default=5, help="reloads per server start (default: 5)")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also time Streamlit's own floor: an app of a title and a 9-row table, with nothing to read",
    )
    args = parser.parse_args()
    apps = [app.resolve() for app in args.app or [here]]
    print(f"{os.cpu_count()} CPUs, {load()}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="tfmeta-floor-") as floor,
        tempfile.TemporaryDirectory(prefix="tfmeta-bench-cache-") as caches,
    ):
        if args.floor:
            apps.append(minimal_app(Path(floor)))
        results: dict[Path, dict[str, list[float]]] = {app: {} for app in apps}
        for run in range(args.runs + 1):  # run 0 starts each app on an empty cache of checked records
            for number, app in enumerate(apps):
                result = one_run(app, Path(caches) / str(number), args.warm)
                if run == 0:
                    result = {"launch": result["launch"], "first": result.pop("cold"), "warm": result["warm"]}
                for name, seconds in result.items():
                    results[app].setdefault(name, []).append(seconds)
                times = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.items())
                print(f"run {run} {app}: {times}", flush=True)
    print(load())
    for app, times in results.items():
        medians = ", ".join(f"{name} {statistics.median(t):.2f} s" for name, t in times.items())
        print(f"medians for {app}: {medians} ({args.runs} cold starts, {args.warm} reloads each)")


if __name__ == "__main__":
    main()
