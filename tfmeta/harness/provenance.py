"""Where a result came from: code version, package versions, hardware, seeds, time, command, and the hash
of an external method's source."""

from __future__ import annotations

import hashlib
import inspect
import os
import platform
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import tfmeta
from tfmeta.core import registries

PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "tensorflow-datasets", "numpy")
# Options that say only where files are kept: they change no result, and their values are one machine's paths.
LOCATION_OPTIONS = ("--runs-dir", "--results-dir", "--data-dir", "--cache-dir", "--weights-dir")


def recorded_command(arguments: list[str]) -> str:
    """`tfmeta` and its `arguments` as a record keeps them, the location options left out, so that a record
    carries no machine's paths and its command runs as is on another machine."""
    words, skip = [], False
    for word in arguments:
        if skip:
            skip = False
        elif word.split("=", 1)[0] in LOCATION_OPTIONS:
            skip = "=" not in word  # "--runs-dir PATH" drops the next word too; "--runs-dir=PATH" does not
        else:
            words.append(word)
    return shlex.join(["tfmeta", *words])


def command_line() -> str:
    """This process's command as a record keeps it (`recorded_command`), or "" in a process that is not the
    `tfmeta` command (a test, a sweep's worker: the sweep hands its workers its own)."""
    return recorded_command(sys.argv[1:]) if sys.argv[0].endswith("tfmeta") else ""


def git_state() -> tuple[str | None, bool | None]:
    """(commit, has uncommitted changes) of the checkout holding tfmeta, or (None, None) outside git."""
    directory = Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None, None


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


# Vector instruction sets by which oneDNN, Eigen and XLA choose their kernels, so the float rounding of a
# result: the same code on CPUs with different sets may score an episode on the edge differently.
SIMD = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def hardware(accelerators: list[str]) -> dict:
    """CPU model (its name, and the family and model numbers a virtual machine's generic name hides), its
    vector instruction sets among `SIMD`, core count, memory and accelerators of this machine."""
    cpu = platform.processor() or platform.machine()
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if not key:  # the first processor's block ends
                break
            fields.setdefault(key, value)
    except OSError:
        pass
    cpu = fields.get("model name", cpu)
    ids = [fields.get(k) for k in ("vendor_id", "cpu family", "model")]
    cpu_id = "{} family {} model {}".format(*ids) if all(ids) else None
    flags = set(fields.get("flags", "").split())
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gib = None
    return {
        "cpu": cpu,
        "cpu_id": cpu_id,
        "simd": [name for name in SIMD if name in flags] if flags else None,
        "cpu_count": os.cpu_count(),
        "memory_gib": memory_gib,
        "accelerators": accelerators,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
    }


def method_source(method_class: type, import_path: str) -> dict | None:
    """The source file of a method that is not built into tfmeta, as `{"path", "sha256"}` (None for a
    built-in one, which tfmeta's version and commit identify, or a class without a source file).

    `path` is the reference's own file for a `path/to/file.py:Class` method, else the file's path below the
    folder it is imported from (`mymeta/cosine.py`): never a machine's folders. `tfmeta verify` compares
    the hash with the source it imports.
    """
    from tfmeta.core.contract import is_file_path

    if import_path in registries.METHODS.values():
        return None
    try:
        source = Path(inspect.getsourcefile(method_class) or "")
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
    except (OSError, TypeError):
        return None
    module = import_path.partition(":")[0]
    if is_file_path(module) and Path(module).resolve() == source.resolve():
        return {"path": module, "sha256": digest}
    return {"path": _below_import_root(source, method_class.__module__), "sha256": digest}


def _below_import_root(source: Path, module: str) -> str:
    """`source`, the file of `module`, relative to the folder Python imports `module` from."""
    depth = module.count(".") + (source.name == "__init__.py")
    parts = source.parts[-(depth + 1) :]
    return Path(*parts).as_posix()


def collect(seeds: dict, accelerators: list[str], command: str, source: dict | None = None) -> dict:
    """A run's provenance; `source` is its external method's (`method_source`), when it has one."""
    commit, dirty = git_state()
    return {
        "tfmeta_version": tfmeta.__version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "packages": package_versions(),
        "hardware": hardware(accelerators),
        "seeds": seeds,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        **({"method_source": source} if source else {}),
    }
