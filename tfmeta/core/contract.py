"""Checking that a class honours the hooks its base declares, before any work starts.

The harness calls a method's (or task family's) hooks by name; a subclass that forgets a required one, or
overrides one with a signature the harness cannot call, should fail when it is looked up, naming the hook
and the class, not an hour into training.
"""

from __future__ import annotations

import difflib
import errno
import hashlib
import importlib.util
import inspect
import pkgutil
import re
import sys
from pathlib import Path


class ContractError(TypeError):
    """A class that does not implement its base's contract."""


def import_class(path: str, base: type, error: type[Exception], what: str) -> type:
    """The class at `package.module:ClassName` or `path/to/file.py:ClassName`, which must subclass `base`.

    Raises:
        error: when the path cannot be imported or names something else, in one line that says what to fix
            (a near-miss class name, the import path for a module Python cannot find).
    """
    module_name, _, class_name = path.partition(":")
    try:
        module = load_file(module_name) if is_file_path(module_name) else importlib.import_module(module_name)
    except ImportError as err:
        raise error(f"cannot import {what} {path!r}: {err}{_import_hint(path, err)}") from err
    except OSError as err:
        raise error(
            f"cannot import {what} {path!r}: {err.strerror or err}; give the .py file's path from the "
            "current folder, or an absolute one"
        ) from err
    cls = getattr(module, class_name, None)
    if cls is None:
        raise error(f"cannot import {what} {path!r}: {module_name} has no class {class_name!r}; "
                    f"{_class_hint(module, class_name, base)}")  # fmt: skip
    if not (isinstance(cls, type) and issubclass(cls, base)):
        kind = f"{base.__module__}.{base.__qualname__}"
        raise error(f"{path} is not a subclass of {kind}; derive it from {base.__name__}")
    return cls


def _class_hint(module, name: str, base: type) -> str:
    """The nearest class name of `module` to a misspelt one, or the subclasses of `base` it offers."""
    classes = {key: value for key, value in vars(module).items() if isinstance(value, type)}
    offered = sorted(key for key, value in classes.items() if issubclass(value, base) and value is not base)
    near = difflib.get_close_matches(name, offered, n=1) or difflib.get_close_matches(name, classes, n=1)
    if near:
        return f"did you mean {near[0]!r}?"
    if offered:
        return f"its {base.__name__} subclasses: {', '.join(offered)}"
    return f"it defines no subclass of {base.__name__}"


def is_file_path(module: str) -> bool:
    """Whether the module part of a `module:Class` reference is a Python file's path."""
    return module.endswith(".py")


def load_file(path: str):
    """The module a Python file defines, executed once per process and registered in `sys.modules` under
    its file name (or, when another module holds that name, one made unique by the file's location).

    Raises:
        OSError: when there is no such file.
        ImportError: as importing the file's own imports raises it.
    """
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise FileNotFoundError(errno.ENOENT, f"no file {path}", path)
    stem = re.sub(r"\W", "_", resolved.stem)
    unique = f"{stem}_{hashlib.sha256(str(resolved).encode()).hexdigest()[:12]}"
    for name in (stem, unique):
        loaded = sys.modules.get(name)
        if loaded is None:
            break
        if getattr(loaded, "__file__", None) and Path(loaded.__file__).resolve() == resolved:
            return loaded
    spec = importlib.util.spec_from_file_location(name, resolved)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, pickling and Keras look classes up through their module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_hint(reference: str, err: ImportError) -> str:
    """What to do about a module Python cannot find: put the reference's own module on the import path,
    correct a submodule's spelling, or install a package the module imports."""
    missing = getattr(err, "name", None)
    if not isinstance(err, ModuleNotFoundError) or not missing:
        return ""
    module, _, cls = reference.partition(":")
    if is_file_path(module) or not (missing == module or module.startswith(f"{missing}.")):
        return f"; {module} imports {missing}: install it, or add the folder holding it to PYTHONPATH"
    parent, _, child = missing.rpartition(".")
    if parent in sys.modules:  # the package is there, its submodule is not
        siblings = [m.name for m in pkgutil.iter_modules(getattr(sys.modules[parent], "__path__", []))]
        near = difflib.get_close_matches(child, siblings, n=1)
        return f"; did you mean {parent}.{near[0]}?" if near else f"; {parent} has no module {child!r}"
    top = module.split(".")[0]
    return (
        f"; set PYTHONPATH to the folder that holds {top}/ or {top}.py (PYTHONPATH=. from that folder), or "
        f"name the file: path/to/{module.replace('.', '/')}.py:{cls or 'ClassName'}"
    )


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
