"""Advisory locks on folders that one process at a time may write: a training's folder, a sweep's results
folder, a dataset cache being prepared. The lock file names its holder, so the refusal says who has it.
Locks vanish with their process, so a killed run never leaves one behind."""

from __future__ import annotations

import fcntl
import os
import shlex
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LockedError(ValueError):
    """The folder is held by another process; the message names it."""


@contextmanager
def hold(path: Path, refusal: str) -> Iterator[None]:
    """Holds the lock file `path` for the block, or raises LockedError with `refusal` and the holder."""
    handle = _open(path)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        handle.seek(0)
        holder = handle.read(300).strip() or "another process"
        handle.close()
        raise LockedError(f"{refusal} (held by {holder}: {path})") from err
    with _held(handle):
        yield


@contextmanager
def wait_for(path: Path) -> Iterator[None]:
    """Holds the lock file `path` for the block, first waiting while another process holds it: for work
    that one process does and the others then reuse (preparing a dataset in a shared cache)."""
    handle = _open(path)
    fcntl.flock(handle, fcntl.LOCK_EX)
    with _held(handle):
        yield


@contextmanager
def folder(directory: Path) -> Iterator[None]:
    """Holds a lock on the folder itself for the block, waiting while another process holds it: for
    check-then-write sequences on a folder's files (a submission's checks against the stored records and
    its write). Locking the folder's own descriptor leaves no lock file among the records."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _open(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a+")  # noqa: SIM115 - held for the block's lifetime


@contextmanager
def _held(handle) -> Iterator[None]:
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, `{shlex.join(sys.argv)[:150]}`\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
