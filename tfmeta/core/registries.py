"""The registries by name: few-shot methods, optimizee task families and the standard optimizers.

Names map to import paths, so listing and checking names (the records layer checks sweeps and optimizer
specs) imports none of what they name, and no TensorFlow. Loading a class behind a name is the job of
its own layer: `tfmeta.methods.get`, `tfmeta.tasks.get`.

External methods are reachable as `package.module:ClassName`, `path/to/file.py:ClassName` or through the
`tfmeta.methods` entry-point group; external task families as `package.module:ClassName`.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tfmeta.core.contract import is_file_path

# -- few-shot methods -------------------------------------------------------------------------------------

METHODS = {
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


def method_names() -> list[str]:
    """Built-in and entry-point method names, sorted."""
    external = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(METHODS) | external)


def method_import_path(name: str) -> str:
    """The `module:Class` path of a method name, or the name itself when it already is one (a file's path
    written in the one form every spelling of it shares, so that records and trainings agree on it)."""
    if ":" in name:
        module, _, cls = name.partition(":")
        return f"{file_reference(module)}:{cls}" if is_file_path(module) else name
    if name in METHODS:
        return METHODS[name]
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP, name=name):
        return ep.value
    valid = method_names()
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


def is_registered_method(path: str) -> bool:
    """Whether `path` (`package.module:ClassName`) is a built-in method's or an installed `tfmeta.methods`
    entry point's, decided from the registry and the installed packages' metadata without importing
    anything: a record's import path is only imported when this holds or the user allows its module."""
    if path in METHODS.values():
        return True
    return any(ep.value.strip() == path for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))


# -- optimizee task families ------------------------------------------------------------------------------


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
OFFLINE_FAMILIES = tuple(name for name, family in FAMILIES.items() if family.offline)


class UnknownFamilyError(KeyError):
    """A task family that is neither registered nor importable."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def family_names() -> list[str]:
    return list(FAMILIES)


def is_family(name: str) -> bool:
    """Whether `name` is a registered family or has the `package.module:ClassName` form (checked on use)."""
    return name in FAMILIES or ":" in name


# -- standard optimizers ----------------------------------------------------------------------------------

# The optimizers every learned optimizer is compared with, each with its learning rate tuned; the same
# names as the functional rules of the inner loops (`tfmeta.optimizers.functional`).
BASELINES = ("sgd", "momentum", "nag", "adam", "rmsprop", "adagrad")
