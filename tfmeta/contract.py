"""Checking that a class honours the hooks its base declares, before any work starts.

The harness calls a method's (or task family's) hooks by name; a subclass that forgets a required one, or
overrides one with a signature the harness cannot call, should fail when it is looked up, naming the hook
and the class, not an hour into training.
"""

from __future__ import annotations

import importlib
import inspect


class ContractError(TypeError):
    """A class that does not implement its base's contract."""


def import_class(path: str, base: type, error: type[Exception], what: str) -> type:
    """The class at `package.module:ClassName`, which must subclass `base`.

    Raises:
        error: when the path cannot be imported or names something else.
    """
    module_name, _, class_name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise error(f"cannot import {what} {path!r}: {err}") from err
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise error(f"{path} is not a subclass of {base.__module__}.{base.__qualname__}")
    return cls


def check_hooks(
    cls: type, base: type, required: tuple[str, ...], methods: tuple[str, ...], attributes: dict[str, type]
) -> None:
    """Checks `cls` against `base`.

    Args:
        required: methods `cls` must override.
        methods: methods the harness may call; an override must accept every positional parameter of
            the base's version and require no other.
        attributes: class attributes (or properties) with the type their values must have.

    Raises:
        ContractError: naming the hook and the class.
    """
    name = f"{cls.__module__}.{cls.__qualname__}"
    for hook in required:
        if getattr(cls, hook, None) is getattr(base, hook):
            raise ContractError(f"{name} does not implement the required hook {hook}()")
    for hook in methods:
        mine, theirs = getattr(cls, hook, None), getattr(base, hook)
        if mine is theirs:
            continue
        if not callable(mine):
            raise ContractError(f"{name}.{hook} must be a method, like {base.__name__}.{hook}")
        expected = _positional(theirs)
        try:
            signature = inspect.signature(mine)
            signature.bind(*range(len(expected)))
        except (TypeError, ValueError) as err:
            raise ContractError(
                f"{name}.{hook}{signature} cannot be called as {base.__name__}.{hook}"
                f"({', '.join(expected)}): {err}"
            ) from err
    for attribute, kind in attributes.items():
        value = inspect.getattr_static(cls, attribute)
        if isinstance(value, property):
            continue
        if not isinstance(value, kind):
            raise ContractError(
                f"{name}.{attribute} is {value!r}; it must be a {kind.__name__} (or a property giving one)"
            )


def _positional(function) -> list[str]:
    """The positional parameter names of a function, `self` included."""
    return [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
