"""The method registry: built-in methods by name, external ones as `package.module:ClassName`,
`path/to/file.py:ClassName` or through the `tfmeta.methods` entry-point group. Every one runs through the
same harness."""

from __future__ import annotations

import difflib
import os
from importlib import metadata
from pathlib import Path

from tfmeta.contract import is_file_path

# Names map to import paths so that listing methods does not import TensorFlow.
BUILTIN = {
    "protonet": "tfmeta.methods.protonet:PrototypicalNetwork",
    "siamese": "tfmeta.methods.siamese:SiameseNetwork",
    "matching": "tfmeta.methods.matching:MatchingNetwork",
    "matching_fce": "tfmeta.methods.matching:MatchingNetworkFCE",
    "relation": "tfmeta.methods.relation:RelationNetwork",
    "protonet_hallucination": "tfmeta.methods.hallucination:HallucinatingPrototypicalNetwork",
    "protonet_noise_augmentation": "tfmeta.methods.hallucination:NoiseAugmentedPrototypicalNetwork",
    "maml": "tfmeta.methods.optimization.maml:MAML",
    "fomaml": "tfmeta.methods.optimization.maml:FirstOrderMAML",
    "reptile": "tfmeta.methods.optimization.reptile:Reptile",
    "meta_lstm": "tfmeta.methods.optimization.meta_lstm:MetaLearnerLSTM",
    "finetune": "tfmeta.methods.optimization.finetune:FineTuning",
}
ENTRY_POINT_GROUP = "tfmeta.methods"


class UnknownMethodError(ValueError):
    """A method name that is neither registered nor importable."""


class MethodConfigError(ValueError):
    """Constructor arguments (`--config`, a spec's `method_config`) that the method refuses."""


def arguments(cls: type) -> list[str]:
    """The constructor arguments `cls` and its bases name (what `--config` may set)."""
    import inspect

    named = {name for klass in cls.__mro__[:-1] for name in inspect.signature(klass.__init__).parameters}
    return sorted(named - {"self", "args", "kwargs"})


def names() -> list[str]:
    """Built-in and entry-point method names, sorted."""
    external = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(BUILTIN) | external)


def import_path(name: str) -> str:
    """The `module:Class` path of a method name, or the name itself when it already is one (a file's path
    written in the one form every spelling of it shares, so that records and trainings agree on it)."""
    if ":" in name:
        module, _, cls = name.partition(":")
        return f"{file_reference(module)}:{cls}" if is_file_path(module) else name
    if name in BUILTIN:
        return BUILTIN[name]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
        return ep.value
    valid = names()
    near = difflib.get_close_matches(name, valid, n=1)
    raise UnknownMethodError(
        f"unknown method {name!r}; valid names: {', '.join(valid)}, or an importable "
        "'package.module:ClassName' or 'path/to/file.py:ClassName'"
        + (f"; did you mean {near[0]!r}?" if near else "")
    )


def file_reference(path: str) -> str:
    """A method file's path as records keep it: relative to the current folder when it lies below it (no
    machine's folders in a record), in POSIX form, without `./` or `..` detours."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def is_registered(path: str) -> bool:
    """Whether `path` (`package.module:ClassName`) is a built-in method's or an installed `tfmeta.methods`
    entry point's, decided from the registry and the installed packages' metadata without importing
    anything: a record's import path is only imported when this holds or the user allows its module."""
    if path in BUILTIN.values():
        return True
    return any(ep.value.strip() == path for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))


def get(name: str) -> type:
    """The method class for a registered name, a `package.module:ClassName` or a `path/to/file.py:ClassName`
    reference, checked against the contract of `tfmeta.methods.base`.

    Raises:
        UnknownMethodError: naming the valid methods, or why the path cannot be used.
        tfmeta.contract.ContractError: naming a hook the class lacks or cannot be called through.
    """
    from tfmeta.contract import import_class
    from tfmeta.methods.base import FewShotMethod, check_declared

    cls = import_class(import_path(name), FewShotMethod, UnknownMethodError, "method")
    check_declared(cls)
    return cls
