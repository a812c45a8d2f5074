"""Optimizee task families of the learned-optimizer track, loaded by name (`tfmeta.core.registries.FAMILIES`)
or by path: an external family is reachable as `package.module:ClassName` (a `tfmeta.tasks.base.TaskFamily`
subclass), as methods are.
"""

from __future__ import annotations

import os

from tfmeta.core.contract import import_class
from tfmeta.core.registries import FAMILIES, UnknownFamilyError


def family_class(name: str) -> type:
    """The `TaskFamily` subclass behind a registered name or a `package.module:ClassName` path.

    Raises:
        tfmeta.core.registries.UnknownFamilyError: naming the valid families, or why the path cannot be used.
    """
    from tfmeta.tasks.base import TaskFamily, check_declared

    if name not in FAMILIES and ":" not in name:
        raise UnknownFamilyError(
            f"unknown task family {name!r}; valid families: {', '.join(FAMILIES)}, "
            "or an importable 'package.module:ClassName'"
        )
    path = FAMILIES[name].import_path if name in FAMILIES else name
    cls = import_class(path, TaskFamily, UnknownFamilyError, "task family")
    check_declared(cls)
    return cls


def get(name: str, data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None):
    """A new instance of the family `name`; families that declare `needs_data` read `data_dir` and
    `cache_dir`.

    Raises:
        tfmeta.core.registries.UnknownFamilyError: naming the valid families.
    """
    cls = family_class(name)
    arguments = dict(FAMILIES[name].arguments) if name in FAMILIES else {}
    if cls.needs_data:
        arguments.update(data_dir=data_dir, cache_dir=cache_dir)
    return cls(**arguments)
