"""How the leaderboard scales with its index of validated records: 10,000 and 100,000 records.

    python leaderboard/bench_index.py
    python leaderboard/bench_index.py --sizes 1000 10000 --folder /tmp/board --runs 3

For each size, smallest first, in one folder (made in a temporary folder unless `--folder` names one; kept
then, so a later run reuses the records it holds):
- generate: the shipped records, then copies of them, round after round, until the folder holds that many.
  Round k's copies carry `copy: k` in their method's configuration, so every round is an entry of its own
  (a row apart, its seeds combined). Copies of verified records are verified too: signed lines in the
  folder's `verified.json` with a key of the benchmark's own, as `tfmeta verify --mark` writes them, while
  the file stays within the records' size limit (`store.MAX_RECORD_BYTES`); the rest are unverified.
- build: the index made from nothing (`RecordIndex.sync`), then every table's parts (`ranking`), each
  with its rate: a rate that holds from size to size is a build that grows linearly;
- first paint: `streamlit run` started on the folder alone (no shipped records), timed in headless
  Chromium from navigating to the app to the first paint of the ranked table, once per fresh server
  (`--runs`), and again after a reload (a new session on a warm server);
- new record: on a running server with the page open, a copy written into the folder (atomically, as
  `tfmeta submit` does), timed from the write to the open page counting it, with no reload (the page
  follows the folder), `--runs` times; the copies are removed afterwards.
It runs from a copy of the checkout's code (`snapshot`), so that edits made meanwhile change neither the app
it times nor the checks the index was built with (the index is rebuilt when those change). Prints every
number with the load average beside it. Not a test: timings depend on the machine and on
what else runs on it. The targets (issue 49): first paint <= 2 s at 10,000 records and <= 5 s at
100,000, a new record shown <= 1 s after it lands.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "leaderboard"), str(ROOT)]  # this copy's app and package, before any installed
import bench_startup  # noqa: E402  (the server and timing helpers beside this file)
import ranking  # noqa: E402
import screenshot  # noqa: E402
from record_index import RecordIndex, index_path  # noqa: E402

from tfmeta.records import few_shot, locations, store, trust  # noqa: E402

SIZES = (10_000, 100_000)
SNAPSHOT_ENV = "TFMETA_BENCH_SNAPSHOT"
CODE = ("tfmeta", "benchmarks", "leaderboard", "pyproject.toml")
LINKED = ("leaderboard/results", "leaderboard/weights")  # read, never written by the benchmark
NEW = 10_000_000  # `copy` numbers of the records landed while the app runs: above every round's
COPY = "copy"


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def say(text: str) -> None:
    print(f"{text}  [{load()}]", flush=True)


class Generator:
    """Copies of the shipped records, written into `folder` round after round, with signed verification
    lines for the copies of verified records while `verified.json` stays readable."""

    def __init__(self, folder: Path):
        self.folder = folder
        shipped = locations.shipped_results_dir()
        loaded = few_shot.load_all(shipped)
        self.sources = [
            (path, record, trust.status(path, record) == "verified") for path, record in loaded.records
        ]
        self.lines: dict = trust.load(folder) if (folder / trust.VERIFIED).is_file() else {}
        self.budget = int(0.95 * store.MAX_RECORD_BYTES)
        self.size = len(json.dumps(self.lines, separators=(",", ":")))

    def count(self) -> int:
        return sum(1 for name in os.listdir(self.folder) if name.endswith(".json") and name != trust.VERIFIED)

    def fill(self, total: int) -> None:
        """Writes records until the folder holds `total`."""
        have = self.count()
        secret = trust.key(create=True)
        number = have
        while have < total:
            round_, position = divmod(number, len(self.sources))
            number += 1
            path, record, verified = self.sources[position]
            if (self.folder / name(path, round_)).exists():  # written by an earlier run
                continue
            self.write(copy(record, round_), name(path, round_), verified, secret)
            have += 1
        self.save()

    def write(self, record: dict, filename: str, verified: bool, secret: bytes) -> None:
        data = store.serialise(record, filename).encode()
        (self.folder / filename).write_bytes(data)
        if verified:
            self.sign(filename, data, record, secret)

    def sign(self, filename: str, data: bytes, record: dict, secret: bytes) -> None:
        entry = {
            "record_sha256": hashlib.sha256(data).hexdigest(),
            "weights_sha256": (record.get("weights") or {}).get("sha256"),
            "episodes": len(record["per_episode"]),
            "verified": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        entry["signature"] = trust._sign(filename, entry, secret)
        size = len(json.dumps({filename: entry}, separators=(",", ":")))
        if self.size + size <= self.budget:
            self.lines[filename] = entry
            self.size += size

    def save(self) -> None:
        # Compact, so that more lines fit the size limit than `replace_json`'s indented form would hold.
        tmp = self.folder / ".verified.json.tmp"
        tmp.write_text(json.dumps(self.lines, separators=(",", ":")))
        os.replace(tmp, self.folder / trust.VERIFIED)


def copy(record: dict, round_: int) -> dict:
    """Round 0 is the record itself; round k a copy whose method's configuration says `copy: k`."""
    if round_ == 0:
        return record
    method = {**record["method"], "config": {**record["method"]["config"], COPY: round_}}
    return {**record, "method": method}


def name(path: Path, round_: int) -> str:
    return path.name if round_ == 0 else f"{path.stem}-{COPY}{round_}.json"


def build(folder: Path, records: int) -> None:
    """The index from nothing, then every table's parts; prints each with its rate."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_path(folder)}{suffix}").unlink(missing_ok=True)
    index = RecordIndex(folder, few_shot.check, ranking.describe)
    started, cpu = time.perf_counter(), cpu_used()
    index.sync()
    seconds, cpu = time.perf_counter() - started, cpu_used() - cpu
    say(
        f"{records} records: index built from nothing in {seconds:.1f} s, {records / seconds:.0f} records/s; "
        f"{cpu:.0f} s of CPU, {1000 * cpu / records:.1f} ms a record"
    )
    started, cpu = time.perf_counter(), cpu_used()
    board = ranking.Board([index], ranking.Parts())
    ranked, apart, _ = board.tables(smoke=False)
    entries = 0
    for table in ranked + apart:
        table.frame()
        entries += table.size
    seconds, cpu = time.perf_counter() - started, cpu_used() - cpu
    verified = sum(t.size for t in ranked)
    say(
        f"{records} records: parts of {len(ranked) + len(apart)} tables ({entries} entries, {verified} "
        f"verified) made in {seconds:.1f} s, {entries / seconds:.0f} entries/s, "
        f"{1000 * cpu / entries:.1f} ms of CPU an entry; largest ranked table "
        f"{max(t.size for t in ranked)} entries"
    )


def cpu_used() -> float:
    """CPU seconds this process and its finished children (the build's workers) have used."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used, user and system (Linux): what a paint cost the server, however
    busy the machine was."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(session: screenshot.DevTools, url: str, pid: int) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) to the first paint of the ranked table at `url`."""
    before = cpu_seconds(pid)
    seconds = bench_startup.time_to_table(session, url)
    return seconds, cpu_seconds(pid) - before


def first_paints(folder: Path, cache: Path, env: dict, runs: int, warm: int) -> None:
    app = Path(__file__).resolve().with_name("app.py")
    cold, reloads = [], []
    for _ in range(runs):
        with (
            bench_startup.server(app, folder, cache, shipped=False, env=env) as (url, _, pid),
            screenshot.browser() as session,
        ):
            screen(session)
            cold.append(timed(session, url, pid))
            reloads += [timed(session, url, pid) for _ in range(warm)]
        say(f"  first paint on a fresh server {show(cold[-1])}, after a reload {show(reloads[-1])}")
    say(
        f"first paint: median {show(median(cold))} on a fresh server ({runs} servers), "
        f"{show(median(reloads))} after a reload"
    )


def median(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def show(time_: tuple[float, float]) -> str:
    return f"{time_[0]:.2f} s ({time_[1]:.2f} s of server CPU)"


def new_records(folder: Path, cache: Path, env: dict, generator: Generator, runs: int) -> None:
    """Lands copies of a record of the app's first table while it runs, each an entry of its own and
    unverified, as a submission lands (in the table ranked apart); times each from the write to the
    open page counting it in that table."""
    app = Path(__file__).resolve().with_name("app.py")
    source_path, source, _ = next(
        s for s in generator.sources if s[0].name.startswith("omniglot-protonet-5w1s-standard-")
    )
    took, landed = [], []
    with (
        bench_startup.server(app, folder, cache, shipped=False, env=env) as (url, _, pid),
        screenshot.browser() as session,
        contextlib.ExitStack() as cleanup,
    ):
        # Removed afterwards, so that the folder keeps its size for the next run.
        cleanup.callback(lambda: [path.unlink(missing_ok=True) for path in landed])
        screen(session)
        bench_startup.time_to_table(session, url)
        for run in range(runs):
            number = NEW + int(time.time()) % 1_000_000 * 10 + run
            expected = unverified_entries(folder) + 1
            text = f"Unverified: {expected} entries, ranked apart"
            record = copy(source, number)
            landed.append(folder / name(source_path, number))
            store.write(record, folder, landed[-1].name, few_shot.check)  # as `tfmeta submit` does
            started, cpu = time.monotonic(), cpu_seconds(pid)
            expression = f"document.body.innerText.includes({json.dumps(text)})"
            while not session.call("Runtime.evaluate", expression=expression, returnByValue=True)[
                "result"
            ].get("value"):
                if time.monotonic() - started > 120:
                    raise TimeoutError(f"no {text!r} within 120 s")
                time.sleep(0.02)
            took.append((time.monotonic() - started, cpu_seconds(pid) - cpu))
            say(f"  new record {COPY}={number} shown {show(took[-1])} after it landed ({text})")
    say(f"new record: median {show(median(took))} from landing to its table ({runs} records)")


def unverified_entries(folder: Path) -> int:
    """The entries of the table ranked apart beside the app's first table, before a record lands."""
    index = RecordIndex(folder, few_shot.check, ranking.describe)
    index.sync()
    ranked, apart, _ = ranking.Board([index], ranking.Parts()).tables(smoke=False)
    return next((t.size for t in apart if t.key == ranked[0].key), 0)


def screen(session: screenshot.DevTools) -> None:
    width, height = screenshot.SIZES["desktop"]
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    session.call("Emulation.setDeviceMetricsOverride", **metrics)


def snapshot() -> None:
    """Runs this script again from a copy of the checkout's code, unless it runs from one."""
    if os.environ.get(SNAPSHOT_ENV):
        return
    copy = Path(tempfile.mkdtemp(prefix="tfmeta-bench-code-"))
    for name in CODE:
        source = ROOT / name
        if source.is_dir():
            ignored = shutil.ignore_patterns("__pycache__", ".*", "results", "weights")
            shutil.copytree(source, copy / name, ignore=ignored)
        else:
            shutil.copy2(source, copy / name)
    for name in LINKED:
        (copy / name).symlink_to(ROOT / name)
    os.environ[SNAPSHOT_ENV] = str(copy)
    script = copy / Path(__file__).resolve().relative_to(ROOT)
    os.execv(sys.executable, [sys.executable, str(script), *sys.argv[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="records (default: %(default)s)"
    )
    parser.add_argument(
        "--folder", type=Path, help="where to generate the records (default: a temporary folder)"
    )
    parser.add_argument("--runs", type=int, default=3, help="fresh servers, and new records (default: 3)")
    parser.add_argument("--warm", type=int, default=3, help="reloads per server (default: 3)")
    parser.add_argument("--no-build", action="store_true", help="keep an index the folder has")
    parser.add_argument(
        "--nice",
        action="store_true",
        help="generate and build at the lowest CPU priority (timings at the normal one)",
    )
    args = parser.parse_args()
    snapshot()
    print(f"{os.cpu_count()} CPUs; the code copied to {ROOT}", flush=True)
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, ROOT, ignore_errors=True)  # the copy `snapshot` made
        folder = args.folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tfmeta-bench-")))
        folder.mkdir(parents=True, exist_ok=True)
        cache = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tfmeta-bench-cache-")))
        # The key that signs the copies' lines: the benchmark's own, beside its folder.
        env = {trust.KEY_ENV: str(folder.parent / f".{folder.name}.verify.key")}
        os.environ.update(env)
        generator = Generator(folder)
        # First the shipped records alone: what the app costs at any size.
        for size in sorted({len(generator.sources), *args.sizes}):
            if generator.count() > size:
                say(f"{size} records: skipped, the folder holds more")
                continue
            started = time.perf_counter()
            priority = os.getpriority(os.PRIO_PROCESS, 0)
            if args.nice:
                os.setpriority(os.PRIO_PROCESS, 0, 19)  # the build's worker processes inherit it
            generator.fill(size)
            say(
                f"{size} records generated in {time.perf_counter() - started:.0f} s "
                f"({len(generator.lines)} verified)"
            )
            if not args.no_build:
                build(folder, generator.count())
            if args.nice:
                os.setpriority(os.PRIO_PROCESS, 0, priority)  # raising it back needs CAP_SYS_NICE
            first_paints(folder, cache, env, args.runs, args.warm)
            new_records(folder, cache, env, generator, args.runs)


if __name__ == "__main__":
    main()
