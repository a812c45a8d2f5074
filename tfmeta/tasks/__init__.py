"""Optimizee task families of the learned-optimizer track: a registry by name, external ones by path.

Names map to import paths and constructor arguments, so that listing and validating names (the
optimizer-track specs do) imports no TensorFlow. An external family is reachable as
`package.module:ClassName` (a `tfmeta.tasks.base.TaskFamily` subclass), as methods are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Registered:
    """A built-in family: its class, the arguments that make this variant, and whether it runs offline
    (False where its data must be downloaded)."""

    import_path: str
    arguments: dict = field(default_factory=dict)
    offline: bool = True


_MLP = "tfmeta.tasks.mlp:OmniglotMLP"
FAMILIES: dict[str, Registered] = {
    "quadratic": Registered("tfmeta.tasks.quadratic:Quadratic"),
    "mlp_omniglot": Registered(_MLP, {"name": "mlp_omniglot"}),
    "mlp_omniglot_40": Registered(_MLP, {"hidden": 40, "name": "mlp_omniglot_40"}),
    "mlp_omniglot_2layer": Registered(_MLP, {"layers": 2, "name": "mlp_omniglot_2layer"}),
    "mlp_omniglot_relu": Registered(_MLP, {"activation": "relu", "name": "mlp_omniglot_relu"}),
    "convnet_omniglot": Registered("tfmeta.tasks.convnet:OmniglotConvNet"),
    "mlp_mnist": Registered(
        _MLP, {"name": "mlp_mnist", "dataset": "mnist", "way": 10, "image_size": 28}, offline=False
    ),
}
OFFLINE = tuple(name for name, family in FAMILIES.items() if family.offline)


class UnknownFamilyError(KeyError):
    """A task family that is neither registered nor importable."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def names() -> list[str]:
    return list(FAMILIES)


def is_known(name: str) -> bool:
    """Whether `name` is a registered family or has the `package.module:ClassName` form (checked on use)."""
    return name in FAMILIES or ":" in name


def family_class(name: str) -> type:
    """The `TaskFamily` subclass behind a registered name or a `package.module:ClassName` path.

    Raises:
        UnknownFamilyError: naming the valid families, or why the path cannot be used.
    """
    from tfmeta.contract import import_class
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
        UnknownFamilyError: naming the valid families.
    """
    cls = family_class(name)
    arguments = dict(FAMILIES[name].arguments) if name in FAMILIES else {}
    if cls.needs_data:
        arguments.update(data_dir=data_dir, cache_dir=cache_dir)
    return cls(**arguments)
