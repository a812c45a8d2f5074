"""Trained weights by sha256 outside the checkout: the local cache, and downloads into it.

The wheel carries records but not the weights they name (tens of megabytes, growing with every verified
seed), so `tfmeta verify` of a record from an installed package looks for `<sha256>.weights.h5` in the
cache (`$TFMETA_CACHE_DIR/weights`, default `~/.cache/tfmeta/weights`) and otherwise downloads it from a
base URL (`--weights-url`, else `$TFMETA_WEIGHTS_URL`) as `<base>/<sha256>.weights.h5`.

A download is streamed into a private file beside the cache, hashed with `hashlib` as it arrives, and
renamed into the cache only when its sha256 is the one asked for; any other outcome (another hash, an HTTP
error, a timeout, too many bytes) removes the partial file, so the cache never holds a file whose name is
not its hash. `keras.utils.get_file(file_hash=...)` checks the same hash, but leaves a mismatching file in
its cache under the target's name, waits without a timeout, and writes to /tmp/.keras when the cache is
not writable; none of which a verification should do.

The project publishes its weights at no URL yet, so there is no default: without a URL the error says what
to set. Imports no TensorFlow.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tfmeta.core import data_dirs
from tfmeta.core.errors import UserError

WEIGHTS_URL_ENV = "TFMETA_WEIGHTS_URL"
PUBLISHED_URL: str | None = None  # the project's published location, once there is one
SUFFIX = ".weights.h5"
SUBFOLDER = "weights"  # of the cache folder
TIMEOUT = 5.0  # seconds to connect, and between two reads
MAX_BYTES = 1 << 30  # far above any method's weights; a server that sends more is refused
SCHEMES = ("http", "https", "file")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DownloadError(UserError, ValueError):
    """Weights that could not be downloaded, or whose bytes were not the ones asked for: the message names
    the URL and why; nothing of them is kept."""


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where downloaded weights are kept: `weights/` in tfmeta's cache folder (`--cache-dir`, else
    $TFMETA_CACHE_DIR, else ~/.cache/tfmeta)."""
    return data_dirs.cache_dir(cache_dir) / SUBFOLDER


def base_url(option: str | None = None) -> str | None:
    """The base URL weights are downloaded from: `option`, else $TFMETA_WEIGHTS_URL, else the project's
    published location (none yet)."""
    return option or os.environ.get(WEIGHTS_URL_ENV) or PUBLISHED_URL


def url_for(sha256: str, base: str) -> str:
    """`<base>/<sha256>.weights.h5`.

    Raises:
        DownloadError: when `sha256` is not 64 hex digits or `base` is no http, https or file URL.
    """
    if not _SHA256.fullmatch(sha256):
        raise DownloadError(f"{sha256!r} is not a sha256 (64 lowercase hex digits)")
    if urllib.parse.urlsplit(base).scheme not in SCHEMES:
        raise DownloadError(
            f"weights URL {base!r} is not an http, https or file URL; set ${WEIGHTS_URL_ENV} or "
            "--weights-url to the folder that holds <sha256>.weights.h5 files"
        )
    return f"{base.rstrip('/')}/{sha256}{SUFFIX}"


def download(
    sha256: str, base: str, cache_dir: str | os.PathLike | None = None, timeout: float = TIMEOUT
) -> Path:
    """Downloads `<base>/<sha256>.weights.h5` into the cache and returns its path there, kept only when
    its bytes have that sha256 (see the module docstring).

    Raises:
        DownloadError: naming the URL: unreachable, an HTTP error, silent for `timeout` seconds, more
            than MAX_BYTES, another sha256, or a cache folder that cannot be written.
    """
    url = url_for(sha256, base)
    folder = cache_folder(cache_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{sha256[:16]}-", suffix=".partial", dir=folder)
    except OSError as err:
        raise DownloadError(
            f"cannot download weights into {folder} ({err.strerror or err}); pass a writable --cache-dir"
        ) from None
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size = _fetch(url, out, timeout)
        if digest != sha256:
            raise DownloadError(
                f"{url} sent {size} bytes of sha256 {digest[:16]}..., not the {sha256[:16]}... the record "
                "names: refused, nothing kept; that server holds other weights under this name"
            )
        target = folder / f"{sha256}{SUFFIX}"
        os.replace(partial, target)
        return target
    finally:
        Path(partial).unlink(missing_ok=True)


def _fetch(url: str, out, timeout: float) -> tuple[str, int]:
    """Streams `url` into the open file `out`; returns the sha256 of the bytes and their count."""
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(1 << 20):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DownloadError(f"{url} sent more than {MAX_BYTES} bytes: refused, nothing kept")
                digest.update(chunk)
                out.write(chunk)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}; nothing downloaded") from None
    except urllib.error.URLError as err:
        reason = "timed out" if isinstance(err.reason, TimeoutError) else err.reason
        raise DownloadError(
            f"{url} cannot be reached ({reason}); check ${WEIGHTS_URL_ENV} or --weights-url, or pass the "
            "folder that holds the weights with --weights-dir"
        ) from None
    except TimeoutError:
        raise DownloadError(
            f"{url} sent nothing for {timeout:g} s: timed out, nothing kept; try again later or pass the "
            "folder that holds the weights with --weights-dir"
        ) from None
    except (OSError, http.client.HTTPException) as err:  # a connection cut mid-transfer, a full disk
        reason = getattr(err, "strerror", None) or err or type(err).__name__
        raise DownloadError(f"{url}: download failed ({reason}); nothing kept") from None
    return digest.hexdigest(), size
