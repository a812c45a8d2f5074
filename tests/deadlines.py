"""A time limit for a test step that must not block (a FIFO opened, a download from a silent server)."""

from __future__ import annotations

import contextlib
import signal


@contextlib.contextmanager
def deadline(seconds: int):
    """Fails the test rather than hanging it, should the block still run after `seconds`. The failure is an
    AssertionError, which code under test does not take for one of its own errors (a TimeoutError is an
    OSError, and a socket timeout)."""

    def expire(signum, frame):
        raise AssertionError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
