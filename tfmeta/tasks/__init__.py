"""Optimizee task families of the learned-optimizer track, by name."""

from __future__ import annotations

from collections.abc import Callable

from tfmeta.tasks.base import Problems, TaskFamily
from tfmeta.tasks.convnet import OmniglotConvNet
from tfmeta.tasks.mlp import OmniglotMLP
from tfmeta.tasks.quadratic import Quadratic

__all__ = ["FAMILIES", "Problems", "TaskFamily", "get", "names"]

FAMILIES: dict[str, Callable[..., TaskFamily]] = {
    "quadratic": lambda **kw: Quadratic(**kw),
    "mlp_omniglot": lambda **kw: OmniglotMLP(name="mlp_omniglot", **kw),
    "mlp_omniglot_40": lambda **kw: OmniglotMLP(hidden=40, name="mlp_omniglot_40", **kw),
    "mlp_omniglot_2layer": lambda **kw: OmniglotMLP(layers=2, name="mlp_omniglot_2layer", **kw),
    "mlp_omniglot_relu": lambda **kw: OmniglotMLP(activation="relu", name="mlp_omniglot_relu", **kw),
    "convnet_omniglot": lambda **kw: OmniglotConvNet(**kw),
    "mlp_mnist": lambda **kw: OmniglotMLP(name="mlp_mnist", dataset="mnist", way=10, image_size=28, **kw),
}
_NEEDS_DATA = {name for name in FAMILIES if "omniglot" in name or "mnist" in name}
OFFLINE = tuple(name for name in FAMILIES if "mnist" not in name)  # runnable without a download


def names() -> list[str]:
    return list(FAMILIES)


def get(name: str, data_dir=None, cache=None) -> TaskFamily:
    """The task family registered as `name`; Omniglot families read data from `data_dir`/`cache`.

    Raises:
        KeyError: naming the valid families.
    """
    if name not in FAMILIES:
        raise KeyError(f"unknown task family {name!r}; valid families: {', '.join(FAMILIES)}")
    kwargs = {"data_dir": data_dir, "cache": cache} if name in _NEEDS_DATA else {}
    return FAMILIES[name](**kwargs)
