"""Which records `tfmeta verify` has reproduced: `verified.json` beside the records of a folder, naming
each verified record by file name and the sha256 of its bytes, so that an edited record is no longer
verified. TensorFlow-free: the app reads it to mark rows.

A line of `verified.json` is not enough on its own, since anyone who can write the folder can write one:
- in the shipped records' folder of a source checkout (where contributors add records and lines, reviewed
  with the code), the trained weights the line names must be there, under `leaderboard/weights/`, with
  that sha256: a line comes with the weights anyone can re-verify it from;
- in the shipped records' folder of an installed package, the line counts as shipped: the wheel carries
  the records, `verified.json` and this code from one reviewed checkout, where the rule above held (the
  test suite checks every shipped record against it), but not the weights (`tfmeta verify` finds those in
  the cache or downloads them by sha256, `tfmeta.harness.weights_store`). Only whoever installs the package
  can write that folder, and they could as well edit this module; asking for the weights in the user's own
  cache would add no check (anyone can put a file there) and rank nothing until they are downloaded;
- in any other folder, the line must carry the signature `tfmeta verify --mark` made with this machine's
  verification key (an HMAC over the line; `$TFMETA_VERIFY_KEY`, default `~/.config/tfmeta/verify.key`,
  created on first use, readable by its owner only), so only a verification run on this machine marks it.

Float rounding depends on the CPU (kernels are chosen by vector instruction set), so a record can reproduce
on one machine and differ on an episode at the edge on another. A line keeps every machine's outcome in
`checks`; such a record is "verified on 1 of 2 machines", not unverified (Bouthillier et al. 2021 count
this among a benchmark's sources of variance).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from tfmeta.core import locks
from tfmeta.records import locations, store

VERIFIED = "verified.json"  # listed in store.NOT_RECORDS, so record listings pass it by
KEY_ENV = "TFMETA_VERIFY_KEY"
SIGNED = ("record_sha256", "weights_sha256", "episodes")
REPRODUCED, DIFFERS = "reproduced", "differs"


def record_digest(path: Path) -> str:
    return hashlib.sha256(store.read_bytes(path)).hexdigest()


def load(directory: Path) -> dict:
    """The folder's verified table; empty when it is missing or unreadable (every record then shows as
    unverified). Read with the records' own bounds on size, nesting and lengths."""
    path = Path(directory) / VERIFIED
    try:
        return store.parse(store.read_bytes(path), VERIFIED)
    except (OSError, store.RecordError):
        return {}


def table(directory: Path) -> dict:
    """The folder's verified table as `load` reads it, read once for as long as the file stays the same
    (its size and modification time): a large one takes a second to read and check."""
    return _cached(str(directory), table_stamp(directory))


def status(path: Path, record: dict | None = None) -> str:
    """ "verified" when `tfmeta verify --mark` reproduced this exact file (and, given the record, with the
    weights it names), else "unverified"."""
    lines = table(path.parent)
    return "verified" if is_verified(path, lines, record) else "unverified"


@functools.lru_cache(maxsize=16)
def _cached(directory: str, stamp: tuple) -> dict:
    return load(Path(directory))


def table_stamp(directory: Path) -> tuple:
    """Size and modification time of a folder's `verified.json` (empty when missing): what a cache of
    its verified table is keyed by."""
    return _stamp(Path(directory) / VERIFIED)


def _stamp(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return ()
    return (stat.st_size, stat.st_mtime_ns)


def is_verified(path: Path, table: dict, record: dict | None = None) -> bool:
    """Whether `table` (the folder's `verified.json`) vouches for the record file at `path`: the line
    names its current digest (and the weights `record` names), and is backed by the shipped weights (in a
    checkout), by the installed package, or by this machine's signature (see the module docstring)."""
    entry = _entry_for(path, table)
    if entry is None or not machines(entry)[0]:
        return False
    weights = (record or {}).get("weights") or {}
    if record is not None and entry.get("weights_sha256") != weights.get("sha256"):
        return False
    return _vouched(path, entry)


def _entry_for(path: Path, table: dict) -> dict | None:
    """The line of `table` for the record file at `path`, if it names the file's current digest."""
    entry = table.get(path.name)
    if not isinstance(entry, dict) or entry.get("record_sha256") != _safe_digest(path):
        return None
    return entry


def checks(entry: dict) -> list[dict]:
    """Every machine's outcome on a line; a line written before outcomes were kept is one reproduction
    on the machine it names (or an unnamed one)."""
    listed = entry.get("checks")
    if isinstance(listed, list):
        return [c for c in listed if isinstance(c, dict)]
    if "verified" in entry:
        return [{"outcome": REPRODUCED, "machine": entry.get("machine"), "when": entry.get("verified")}]
    return []


def _machine_key(machine) -> str:
    return json.dumps(machine, sort_keys=True) if isinstance(machine, dict) else "unnamed"


def machines(entry: dict) -> tuple[int, int]:
    """(machines that reproduced the record, machines that checked it): a machine is its CPU model and
    instruction sets, and its latest outcome counts."""
    latest = {_machine_key(c.get("machine")): c.get("outcome") for c in checks(entry)}
    return sum(outcome == REPRODUCED for outcome in latest.values()), len(latest)


def label(path: Path, record: dict | None = None) -> str:
    """ "verified", "verified on k of n machines" when another CPU's re-evaluation differed on an
    episode, "differs on n machines" when none reproduced it, else "unverified"."""
    lines = table(path.parent)
    entry = _entry_for(path, lines)
    if is_verified(path, lines, record):
        reproduced, checked = machines(entry)
        return "verified" if reproduced == checked else f"verified on {reproduced} of {checked} machines"
    if entry is not None and machines(entry)[1] and _vouched(path, entry):
        checked = machines(entry)[1]
        return f"differs on {checked} machine{'s' if checked > 1 else ''}"
    return "unverified"


def _vouched(path: Path, entry: dict) -> bool:
    if locations.is_shipped_results(path.parent):
        if locations.checkout() is None:  # an installed package's shipped lines: no weights ship with it
            return True
        return shipped_weights_present(str(entry.get("weights_sha256")))
    return _signature_valid(path.name, entry)


def mark(path: Path, episodes: int, weights_sha256: str, version: str, machine: dict | None = None) -> None:
    """Adds a verified record to its folder's `verified.json` (written atomically), signed with this
    machine's key outside the shipped records' folder. `machine` names the CPU the re-evaluation ran on
    (model and vector instruction sets, which decide float rounding on an episode at the edge)."""
    _record_check(path, REPRODUCED, weights_sha256, version, machine, episodes=episodes)


def mark_differs(path: Path, weights_sha256: str, version: str, machine: dict | None, detail: str) -> None:
    """Records that re-evaluating the record on this machine gave a different score on an episode
    (`detail` says which): the record's other machines' reproductions stay, and it counts this one."""
    _record_check(path, DIFFERS, weights_sha256, version, machine, detail=detail)


def _record_check(path: Path, outcome: str, weights_sha256: str, version: str, machine, **fields) -> None:
    directory = path.parent
    with locks.folder(directory):  # two verifications at once must not lose each other's lines
        table = load(directory)
        digest = record_digest(path)
        old = table.get(path.name)
        same = isinstance(old, dict) and old.get("record_sha256") == digest
        now = datetime.now(UTC).isoformat(timespec="seconds")
        check = {"outcome": outcome, "machine": machine, "when": now, "tfmeta_version": version}
        if "detail" in fields:
            check["detail"] = fields["detail"]
        entry = {k: v for k, v in old.items() if k != "signature"} if same else {}
        entry |= {"record_sha256": digest, "weights_sha256": weights_sha256}
        entry["checks"] = (checks(old) if same else []) + [check]
        if outcome == REPRODUCED:
            entry |= {"episodes": fields["episodes"], "verified": now, "tfmeta_version": version}
            entry |= {"machine": machine} if machine else {}
        if not locations.is_shipped_results(directory):
            entry["signature"] = _sign(path.name, entry, key(create=True))
        table[path.name] = entry
        _save(table, directory)


def move_aside(path: Path, folder: str) -> Path:
    """Moves a record into the subfolder `folder` beside it (`store.move_aside`) with its line of
    `verified.json`, under the folder's lock: a superseded record keeps its verification, and the table
    stops naming a file its folder no longer holds. The line is written into the subfolder's table before
    it leaves this one, so an interruption leaves it in both, never in neither."""
    directory = path.parent
    with locks.folder(directory):
        destination = store.move_aside(path, folder)
        table = load(directory)
        line = table.pop(path.name, None)
        if line is not None:
            with locks.folder(destination.parent):
                moved = load(destination.parent)
                moved[path.name] = line
                _save(moved, destination.parent)
            _save(table, directory)
    return destination


def _save(table: dict, directory: Path) -> None:
    """Writes a folder's verified table atomically, its lines sorted by file name (under its lock)."""
    store.replace_json(dict(sorted(table.items())), directory / VERIFIED)


def key_path() -> Path:
    return Path(os.environ.get(KEY_ENV) or Path.home() / ".config" / "tfmeta" / "verify.key").expanduser()


def key(create: bool = False) -> bytes | None:
    """This machine's verification key; made on first use when `create` (never overwritten)."""
    path = key_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        if not create:
            return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


def _sign(name: str, entry: dict, secret: bytes) -> str:
    signed = [name, *(entry.get(field) for field in SIGNED)]
    if "checks" in entry:  # so that no other machine's outcome can be added by hand
        signed.append(entry["checks"])
    message = json.dumps(signed, sort_keys=True)
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def _signature_valid(name: str, entry: dict) -> bool:
    secret = key()
    signature = entry.get("signature")
    if secret is None or not isinstance(signature, str):
        return False
    return hmac.compare_digest(signature, _sign(name, entry, secret))


def shipped_weights_present(sha256: str) -> bool:
    """Whether the shipped weights folder holds `<sha256>.weights.h5` with that content."""
    path = locations.shipped_weights_dir() / f"{sha256}.weights.h5"
    return _digest(str(path), _stamp(path)) == sha256


@functools.lru_cache(maxsize=4096)
def _digest(path: str, stamp: tuple) -> str | None:
    """The sha256 of a regular file as of `stamp` (its size and modification time), None when it is
    missing or not a regular file: cached, since a page asks for every record's status more than once."""
    if not stamp:
        return None
    try:
        with store.open_regular(path) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except (OSError, store.RecordError):
        return None


def _safe_digest(path: Path) -> str | None:
    return _digest(str(path), _stamp(path))
