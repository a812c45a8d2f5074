"""The index of validated records: every record file of a folder checked once, kept in SQLite beside it.

A row per `*.json` file of the folder (less `store.NOT_RECORDS`) holds its name, size, modification and
change times and inode, the sha256 of its bytes and what checking them gave: the reason the file is
skipped, or the group, entry and tag the app files the record under (`describe`) and its trust label
(`tfmeta.records.trust`); pages count entries per group and list the rows of the groups they show. Apart,
so that those small rows are read fast, each record's contents: its summary (the fields the tables show,
as JSON, less the bulky `HEAVY` ones) and its per-episode accuracies (float64 bytes, read only for the rows
a page compares). A page that wants whole records reads them from their files, whose bytes must still
have the sha256 their row names.

`sync` brings the index in line with the folder each time it is called, and never trusts a row over its
file: a file whose status differs from its row's is read and hashed again, and checked again only when
those bytes have not passed before; a file modified less than RACY_NS before it was read is read again at
the next sync (a time that did not move cannot tell a later write in the same tick); a skipped file is
checked again every time (a reason such as "created in the future" can lapse); a deleted file loses its
row. Trust labels are redone for the files whose line of `verified.json` changed, or for every file when
the verification key or the shipped weights changed. The index is rebuilt from the files when other
checks wrote it (`code_stamp`) or when SQLite finds it damaged or not a database.

SQLite, from the standard library, serves this better than the alternatives the issue names: rows are
added, replaced and deleted one file at a time (a Parquet file is rewritten whole), several app processes
read and write it at once (WAL mode; DuckDB lets one process open a database for writing), and a query
returns only the columns a page asks for. Writes are transactions: a crash leaves the last committed index.

The index is `.records-index.sqlite` in the folder (hidden: not a record, never shipped), or, where the
folder cannot be written or lies inside an installed tfmeta, a file in `$TFMETA_CACHE_DIR/leaderboard/`.
`derived` rows keep what the pages compute from records (`ranking`), dropped whenever the records' checks
change.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import multiprocessing
import os
import pickle
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import tfmeta.records
from tfmeta.core.data_dirs import cache_dir
from tfmeta.records import locations, store, trust

NAME = ".records-index.sqlite"
FORMAT = 4  # the tables' layout, as PRAGMA user_version
RACY_NS = 2_000_000_000  # some file systems keep modification times to a second or two
HEAVY = ("analysis", "curve")  # bulky fields no table shows: whole records are read from their files
EPISODES = "per_episode"
BUSY_SECONDS = 60
PARALLEL = 500  # files to check from which a build takes a process per CPU
BATCH = 1_000  # files read, checked and written at a time
_CHUNK = 500  # names per query (SQLite's limit on bound values is far above)
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB: rebuilt from the files

# Trust labels that `trust.status` calls verified: "verified", "verified on 1 of 2 machines".
VERIFIED = "substr(label, 1, 8) = 'verified'"
_NOT_RECORDS = {os.fsencode(name) for name in store.NOT_RECORDS}
# `records_counted` holds all that `groups` counts, so its counts never read the rows themselves (at
# 100,000 records 35 ms instead of 380).
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    name BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER,
    read_ns INTEGER, sha256 TEXT, error TEXT, grp TEXT, entry TEXT, tag TEXT, label TEXT, line TEXT
);
CREATE TABLE IF NOT EXISTS contents (name BLOB PRIMARY KEY, summary TEXT NOT NULL, episodes BLOB);
CREATE INDEX IF NOT EXISTS records_by_sha256 ON records (sha256);
CREATE INDEX IF NOT EXISTS records_by_group ON records (grp);
CREATE INDEX IF NOT EXISTS records_counted ON records (grp, {VERIFIED}, entry, tag)
    WHERE error IS NULL AND grp IS NOT NULL;
CREATE TABLE IF NOT EXISTS derived (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_STAT = "size, mtime_ns, ctime_ns, inode, read_ns, sha256, error IS NULL"
Status = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


class IndexDamaged(Exception):
    """Rows that SQLite or JSON cannot read: the index is rebuilt from the files."""


@functools.cache
def code_stamp() -> str:
    """A hash of what decides a row: the records layer's sources and schemas, the benchmark specs (budget
    classes), this module and `ranking`, and the JSON-schema library's version."""
    digest = hashlib.sha256(metadata.version("jsonschema").encode())
    package = Path(tfmeta.records.__file__).parent
    here = Path(__file__).parent
    sources = [(package, p) for p in package.rglob("*") if p.suffix in {".py", ".json"}]
    sources += [(locations.benchmarks_dir(), p) for p in locations.benchmarks_dir().rglob("*.yaml")]
    sources += [(here, here / name) for name in ("record_index.py", "ranking.py") if (here / name).is_file()]
    for root, path in sorted(sources, key=lambda s: str(s[1])):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def index_path(directory: Path) -> Path:
    """Where the index of `directory` lives: in it, or in the cache when it cannot be written or lies
    inside an installed tfmeta (whose files a package manager owns, and checks)."""
    inside_package = locations.checkout() is None and directory.resolve().is_relative_to(
        Path(tfmeta.__file__).resolve().parent
    )
    if not inside_package and os.access(directory, os.W_OK | os.X_OK):
        return directory / NAME
    name = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / "leaderboard" / f"{name}.sqlite"


def pack(values: list | None) -> bytes | None:
    """Per-episode values as stored: float64 bytes when all are floats, else JSON (exact either way)."""
    if values is None:
        return None
    if all(type(v) is float for v in values):
        return b"d" + array("d", values).tobytes()
    return b"j" + json.dumps(values).encode()


def unpack(blob: bytes | None) -> list | None:
    if blob is None:
        return None
    return array("d", blob[1:]).tolist() if blob[:1] == b"d" else json.loads(blob[1:])


def unpack_array(blob: bytes) -> np.ndarray:
    """Per-episode values as a float64 array, without making Python numbers of them."""
    if blob[:1] == b"d":
        return np.frombuffer(blob, dtype=np.float64, offset=1)
    return np.asarray(json.loads(blob[1:]), dtype=np.float64)


def trust_stamp(directory: Path) -> list:
    """What every trust label of the folder rests on besides its own line of `verified.json`: the
    verification key, and in the shipped folder whether this is a checkout and its weights."""
    key = trust.key_path()
    parts: list = [str(key), _status(key)]
    if locations.is_shipped_results(directory):
        weights = locations.shipped_weights_dir()
        listed = sorted(weights.glob("*.weights.h5")) if weights.is_dir() else []
        parts += [locations.checkout() is None, [(p.name, _status(p)) for p in listed]]
    return parts


def _status(path: Path) -> Status | None:
    try:
        return _key(path.stat())
    except OSError:
        return None


def _key(status: os.stat_result) -> Status:
    # Inode numbers can pass SQLite's signed 64 bits on some file systems.
    return status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino & (2**63 - 1)


def _line_hash(line: Any) -> str | None:
    return None if line is None else hashlib.sha256(json.dumps(line, sort_keys=True).encode()).hexdigest()


def _recovering(method):
    """Runs `method` under the index's lock; on a damaged or unusable index, recovers (`_recover`),
    syncs again and runs it once more."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            except (sqlite3.DatabaseError, IndexDamaged) as err:
                self._recover(err)
                self._sync()
                return method(self, *args, **kwargs)

    return run


class RecordIndex:
    """The index of one folder's records of one kind (`validate`). `describe(record)` gives the group,
    the entry and the tag (strings) each passing record is filed under; thread-safe, and safe beside
    other processes."""

    def __init__(self, directory: str | Path, validate: Callable[[Any], None], describe=None):
        self.directory = Path(directory)
        self.validate, self.describe = validate, describe
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._generation: str | None = None
        self._known: dict[bytes, tuple] = {}

    # Bringing the index up to date

    def sync(self) -> str:
        """Brings the index in line with the folder; returns its generation, which changes whenever a row
        does (in any process)."""
        with self._lock:
            try:
                return self._sync()
            except (sqlite3.DatabaseError, IndexDamaged) as err:
                self._recover(err)
                return self._sync()

    def _sync(self) -> str:
        if not self.directory.is_dir():
            self._close()
            self._known, self._generation = {}, "absent"
            return self._generation
        db = self._connect()
        generation = self._meta(db, "generation")
        if generation != self._generation:
            self._known = {row[0]: row[1:] for row in db.execute(f"SELECT name, {_STAT} FROM records")}
            self._generation = generation
        files = self._scan()
        changed = [name for name, status in files.items() if self._stale(name, status)]
        gone = [name for name in self._known if name not in files]
        stamp = json.dumps(trust_stamp(self.directory))
        verified = json.dumps(trust.table_stamp(self.directory))
        relabel = self._meta(db, "trust") != stamp
        lines_changed = self._meta(db, "verified") != verified
        if not (changed or gone or relabel or lines_changed):
            return generation
        # Read only where a label is made: a file gone alone changes no other file's label.
        table = trust.table(self.directory) if changed or relabel or lines_changed else {}
        visible = bool(gone)
        with _checker(self.validate, self.describe, len(changed)) as check:
            for start in range(0, len(changed), BATCH):  # a batch of files' bytes in memory at a time
                rows = self._examine_all(changed[start : start + BATCH], files, table, check)
                with self._write(db):
                    for row in rows:
                        self._put(db, row)
                    if any(row[0] != "status" for row in rows):  # not a status alone
                        visible = True
                        self._generation = self._bump(db)
                self._note(rows)
        with self._write(db):
            db.executemany("DELETE FROM records WHERE name = ?", [(n,) for n in gone])
            db.executemany("DELETE FROM contents WHERE name = ?", [(n,) for n in gone])
            # Unchanged lines and what they rest on leave the other files' labels as they are.
            relabelled = (
                self._relabel(db, table, everything=relabel, skip=set(changed))
                if relabel or lines_changed
                else 0
            )
            self._set(db, "trust", stamp)
            self._set(db, "verified", verified)
            if gone or relabelled:
                self._generation = self._bump(db)
            if visible:
                self._forget_derived(db)
        for name in gone:
            del self._known[name]
        return self._generation

    def _note(self, rows: list[tuple]) -> None:
        """Keeps the statuses of rows just written, as the next sync compares files with them."""
        for row in rows:
            kind, name, status, read_ns = row[:4]
            known = self._known.get(name)
            if kind == "status":
                self._known[name] = (*status, read_ns, *known[5:])
            else:
                self._known[name] = (*status, read_ns, row[4], kind == "record")

    def _scan(self) -> dict[bytes, Status | None]:
        """The record files' names and statuses (None when a file cannot be looked at, so it is read
        again and its reason reported)."""
        files = {}
        with os.scandir(os.fsencode(self.directory)) as listing:  # bytes: the names as the rows keep them
            for entry in listing:
                if not entry.name.endswith(b".json") or entry.name in _NOT_RECORDS:
                    continue
                try:
                    files[entry.name] = _key(entry.stat())
                except OSError:
                    files[entry.name] = None
        return files

    def _stale(self, name: bytes, status: Status | None) -> bool:
        known = self._known.get(name)
        if known is None or status is None or tuple(known[:4]) != status or not known[6]:
            return True
        return known[4] - status[1] < RACY_NS  # read too soon after it was written: read it again

    def _examine_all(self, names: list[bytes], files: dict, table: dict, check) -> list[tuple]:
        """Rows for the files `names`: each read and hashed, and checked with `check` (`_checker`)
        unless its bytes passed before."""
        rows, unchecked = [], []
        for name in names:
            row = self._examine(name, files[name], table)
            (unchecked if row[0] == "unchecked" else rows).append(row)
        checked = check([(row[5], os.fsdecode(row[1])) for row in unchecked])
        for (_, name, status, read_ns, digest, _), (error, parts) in zip(unchecked, checked, strict=True):
            if error is not None:
                rows.append(("error", name, status, read_ns, digest, error))
                continue
            path = self.directory / os.fsdecode(name)
            label = trust.label(path, json.loads(parts[0]))
            rows.append(
                ("record", name, status, read_ns, digest, (*parts, label, _line_hash(table.get(path.name))))
            )
        return rows

    def _examine(self, name: bytes, status: Status | None, table: dict) -> tuple:
        """A row for the file `name` if reading it is enough (it cannot be read, or its bytes passed
        before), else ("unchecked", name, status, read_ns, digest, bytes)."""
        path = self.directory / os.fsdecode(name)
        read_ns = time.time_ns()
        try:
            data, stat_result = store.read_stamped(path)
        except (store.RecordError, OSError) as err:
            return ("error", name, status or (0, 0, 0, 0), read_ns, None, str(err))
        digest = hashlib.sha256(data).hexdigest()
        status = _key(stat_result)
        known = self._known.get(name)
        if known is not None and known[5] == digest and known[6]:
            return ("status", name, status, read_ns)  # the same bytes under a new status (touched, copied)
        twin = self._passed_twin(digest)
        if twin is not None:  # the same bytes passed under another name: only the label is the file's own
            label = trust.label(path, json.loads(twin[0]))
            row = (*twin, label, _line_hash(table.get(path.name)))
            return ("record", name, status, read_ns, digest, row)
        return ("unchecked", name, status, read_ns, digest, data)

    def _passed_twin(self, digest: str) -> tuple | None:
        return (
            self._connect()
            .execute(
                "SELECT summary, episodes, grp, entry, tag FROM records JOIN contents USING (name) "
                "WHERE sha256 = ? AND error IS NULL LIMIT 1",
                (digest,),
            )
            .fetchone()
        )

    @staticmethod
    def _put(db: sqlite3.Connection, row: tuple) -> None:
        kind, name, status, read_ns = row[:4]
        if kind == "status":
            db.execute(
                "UPDATE records SET size = ?, mtime_ns = ?, ctime_ns = ?, inode = ?, read_ns = ? "
                "WHERE name = ?",
                (*status, read_ns, name),
            )
            return
        digest = row[4]
        if kind == "error":
            error, contents, filed = row[5], None, (None,) * 5
        else:
            error, contents, filed = None, row[5][:2], row[5][2:]
        db.execute(
            f"INSERT OR REPLACE INTO records VALUES ({', '.join('?' * 13)})",
            (name, *status, read_ns, digest, error, *filed),
        )
        db.execute("DELETE FROM contents WHERE name = ?", (name,))
        if contents is not None:
            db.execute("INSERT INTO contents VALUES (?, ?, ?)", (name, *contents))

    @staticmethod
    def _forget_derived(db: sqlite3.Connection) -> None:
        """Drops the derived rows once most of them describe records long replaced."""
        (records,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
        (derived,) = db.execute("SELECT COUNT(*) FROM derived").fetchone()
        if derived > 4 * records + 10_000:
            db.execute("DELETE FROM derived")

    def _relabel(self, db: sqlite3.Connection, table: dict, everything: bool, skip: set[bytes]) -> int:
        """Trust labels again, for the files whose line of `verified.json` changed (all, `everything`);
        returns how many changed."""
        wanted = {}
        for name, line, label in db.execute("SELECT name, line, label FROM records WHERE error IS NULL"):
            now = _line_hash(table.get(os.fsdecode(name)))
            if name not in skip and (everything or now != line):
                wanted[name] = (now, label)
        updates = []
        names = list(wanted)
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            query = f"SELECT name, summary FROM contents WHERE name IN ({', '.join('?' * len(chunk))})"
            for name, summary in db.execute(query, chunk).fetchall():
                label = trust.label(self.directory / os.fsdecode(name), _loads(summary))
                updates.append((label, wanted[name][0], name, wanted[name][1]))
        db.executemany("UPDATE records SET label = ?, line = ? WHERE name = ?", [u[:3] for u in updates])
        return sum(new != old for new, _, _, old in updates)

    # Reading

    @_recovering
    def skipped(self) -> list[tuple[Path, str]]:
        """The files skipped and why, by name."""
        rows = self._query("SELECT name, error FROM records WHERE error IS NOT NULL")
        return self._sorted((self.directory / os.fsdecode(name), error) for name, error in rows)

    @_recovering
    def loaded(self) -> store.Loaded:
        """What `store.load_all(directory, validate)` gives: the records that passed, read from their
        files (bytes that are no longer those that passed are checked again), and the files skipped."""
        records, skipped = [], self.skipped()
        for name, digest in self._query("SELECT name, sha256 FROM records WHERE error IS NULL"):
            path = self.directory / os.fsdecode(name)
            try:
                data = store.read_bytes(path)
                if hashlib.sha256(data).hexdigest() == digest:
                    records.append((path, json.loads(data)))  # these bytes passed: no check again
                else:  # changed since the last sync
                    records.append((path, store.read(path, self.validate)))
            except (store.RecordError, OSError) as err:
                skipped.append((path, str(err)))
        return store.Loaded(self._sorted(records), self._sorted(skipped))

    @_recovering
    def groups(self, without: str | None = None) -> list[tuple[str, bool, int]]:
        """(group, verified, how many entries) for every group of passing records (less those tagged
        `without`), apart by whether their trust labels say verified."""
        query = (
            f"SELECT grp, {VERIFIED} AS verified, COUNT(DISTINCT entry) FROM records "
            "WHERE error IS NULL AND grp IS NOT NULL AND (?1 IS NULL OR tag IS NOT ?1) GROUP BY grp, verified"
        )
        return [(group, bool(verified), count) for group, verified, count in self._query(query, [without])]

    @_recovering
    def members(self, groups: list[str], verified: bool, without: str | None = None) -> list[tuple]:
        """(name, sha256, trust label, entry) of the passing records of `groups` (less those tagged
        `without`) whose trust labels say verified, or do not; by name."""
        rows = []
        for start in range(0, len(groups), _CHUNK):
            chunk = groups[start : start + _CHUNK]
            query = (
                f"SELECT name, sha256, label, entry FROM records WHERE error IS NULL AND {VERIFIED} = ? "
                f"AND (? IS NULL OR tag IS NOT ?) AND grp IN ({', '.join('?' * len(chunk))})"
            )
            rows += self._query(query, [verified, without, without, *chunk])
        return [(os.fsdecode(name), *rest) for name, *rest in sorted(rows)]

    @_recovering
    def summaries(self, names: Iterable[str], episodes: bool = False) -> dict[str, dict]:
        """The records called `names`, without their bulky fields, and without their per-episode values
        unless `episodes`."""
        column = "episodes" if episodes else "NULL"
        found = {}
        for name, summary, values in self._select(f"summary, {column}", names):
            found[name] = _loads(summary)
            if episodes:
                found[name][EPISODES] = unpack(values)
        return found

    @_recovering
    def episodes(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        """The per-episode accuracies of the records called `names`."""
        return {name: unpack_array(blob) for name, blob in self._select("episodes", names)}

    def _select(self, columns: str, names: Iterable[str]) -> Iterator[tuple]:
        keys = [os.fsencode(name) for name in names]
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT name, {columns} FROM contents WHERE name IN ({marks})"
            for row in self._query(query, chunk):
                yield (os.fsdecode(row[0]), *row[1:])

    @_recovering
    def derived(self, keys: Iterable[str]) -> dict[str, Any]:
        """Values `remember`ed under `keys` (those found)."""
        keys, found = list(keys), {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            query = f"SELECT key, value FROM derived WHERE key IN ({', '.join('?' * len(chunk))})"
            found.update((key, _loads(value)) for key, value in self._query(query, chunk))
        return found

    def remember(self, values: dict[str, Any]) -> None:
        """Keeps values computed from records (JSON data) for any process; a failure to write is no
        error (they are computed again)."""
        if not values or not self.directory.is_dir():
            return
        rows = [(key, json.dumps(value)) for key, value in values.items()]
        with self._lock:
            try:
                db = self._connect()
                with self._write(db):
                    db.executemany("INSERT OR REPLACE INTO derived VALUES (?, ?)", rows)
            except sqlite3.Error:
                pass

    def _query(self, query: str, parameters: Iterable = ()) -> list[tuple]:
        if not self.directory.is_dir():
            return []
        return self._connect().execute(query, list(parameters)).fetchall()

    @staticmethod
    def _sorted(pairs: Iterable[tuple[Path, Any]]) -> list:
        return sorted(pairs, key=lambda pair: pair[0])

    # The database

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        path = index_path(self.directory)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode = WAL")  # readers never wait for a writer
            db.execute("PRAGMA synchronous = NORMAL")
            with self._write(db):
                if db.execute("PRAGMA user_version").fetchone()[0] not in (0, FORMAT):
                    for table in ("records", "contents", "derived"):
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                _create(db)
                db.execute(f"PRAGMA user_version = {FORMAT}")
                if self._meta(db, "code") != code_stamp():  # other checks wrote it: start again
                    for table in ("records", "contents", "derived"):
                        db.execute(f"DELETE FROM {table}")
                    db.execute("DELETE FROM meta")
                    self._set(db, "code", code_stamp())
                    self._bump(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        return db

    @contextlib.contextmanager
    def _write(self, db: sqlite3.Connection):
        db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _meta(db: sqlite3.Connection, key: str) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set(db: sqlite3.Connection, key: str, value: str) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _bump(self, db: sqlite3.Connection) -> str:
        generation = f"{time.time_ns()}-{os.getpid()}-{threading.get_ident()}"
        self._set(db, "generation", generation)
        return generation

    def _recover(self, err: Exception) -> None:
        """A damaged index is deleted and made again from the files; an index that cannot be used for
        another reason (locked past the timeout, a read-only or full disk) makes way for one in memory."""
        self._close()
        self._known, self._generation = {}, None
        path = index_path(self.directory)
        code = getattr(err, "sqlite_errorcode", 11) & 0xFF
        if not isinstance(err, sqlite3.OperationalError) or code in _CORRUPT:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        with self._write(self._db):
            _create(self._db)
            self._set(self._db, "code", code_stamp())
            self._bump(self._db)

    def close(self) -> None:
        """Closes the index's database (another `sync` opens it again)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _check(data: bytes, filename: str, validate, describe) -> tuple[str | None, tuple | None]:
    """(None, the row's record columns) for bytes that hold a record passing `validate`, else (the
    reason, None)."""
    try:
        record = store.parse(data, filename)
        validate(record)
    except store.RecordError as err:
        return str(err), None
    summary = {k: v for k, v in record.items() if k not in HEAVY and k != EPISODES}
    filed = describe(record) if describe else (None, None, None)
    return None, (json.dumps(summary), pack(record.get(EPISODES)), *filed)


@contextlib.contextmanager
def _checker(validate, describe, files: int):
    """A function checking a list of (bytes, name): in a process per CPU when there are PARALLEL `files`
    or more, else, or where such processes cannot start or fail (a main module that starts its work on
    import, say), in this one."""
    check = functools.partial(_check, validate=validate, describe=describe)
    serial = lambda work: [check(data, name) for data, name in work]  # noqa: E731
    if files < PARALLEL or (os.cpu_count() or 1) < 2 or not _picklable(check):
        yield serial
        return
    with contextlib.ExitStack() as stack:
        try:
            context = multiprocessing.get_context("spawn")  # no fork of a threaded server
            pool = stack.enter_context(ProcessPoolExecutor(os.cpu_count(), mp_context=context))
        except Exception:  # whatever keeps processes from starting: check here instead
            yield serial
            return

        def parallel(work):
            nonlocal pool
            if pool is not None and work:
                try:
                    return list(pool.map(check, *zip(*work, strict=True), chunksize=16))
                except (BrokenProcessPool, OSError, RuntimeError):
                    pool = None
            return serial(work)

        yield parallel


def _picklable(value) -> bool:
    try:
        pickle.dumps(value)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _create(db: sqlite3.Connection) -> None:
    # One statement at a time: `executescript` would commit the transaction around it.
    for statement in SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as err:
        raise IndexDamaged(f"a row of the index is not JSON: {err}") from err
