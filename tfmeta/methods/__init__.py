"""Loading few-shot methods: a built-in name (`tfmeta.core.registries.METHODS`), `package.module:ClassName`,
`path/to/file.py:ClassName` or a `tfmeta.methods` entry point, checked against the method contract. Every
one runs through the same harness."""

from __future__ import annotations

import inspect

from tfmeta.core.contract import import_class
from tfmeta.core.registries import UnknownMethodError, method_import_path


class MethodConfigError(ValueError):
    """Constructor arguments (`--config`, a spec's `method_config`) that the method refuses."""


def arguments(cls: type) -> list[str]:
    """The constructor arguments `cls` and its bases name (what `--config` may set)."""
    named = {name for klass in cls.__mro__[:-1] for name in inspect.signature(klass.__init__).parameters}
    return sorted(named - {"self", "args", "kwargs"})


def get(name: str) -> type:
    """The method class for a registered name, a `package.module:ClassName` or a `path/to/file.py:ClassName`
    reference, checked against the contract of `tfmeta.methods.base`.

    Raises:
        tfmeta.core.registries.UnknownMethodError: naming the valid methods, or why the path cannot be used.
        tfmeta.core.contract.ContractError: naming a hook the class lacks or cannot be called through.
    """
    from tfmeta.methods.base import FewShotMethod, check_declared

    cls = import_class(method_import_path(name), FewShotMethod, UnknownMethodError, "method")
    check_declared(cls)
    return cls
