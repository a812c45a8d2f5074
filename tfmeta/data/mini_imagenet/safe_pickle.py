"""Restricted unpickling for the pre-packed miniImageNet caches.

`pickle.load` runs whatever callable a file names, so a downloaded pickle can execute code. The caches
hold only numpy arrays, dicts, lists, strings and numbers; `load` admits exactly the globals needed to
rebuild those and refuses every other global before anything is called (see "Restricting Globals" in the
Python documentation, https://docs.python.org/3/library/pickle.html#restricting-globals).
"""

from __future__ import annotations

import builtins
import codecs
import collections
import os
import pickle

import numpy as np

try:
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")  # numpy < 2 and >= 2 spellings
_NUMPY_REBUILDERS = {"_reconstruct", "scalar"}
_NUMERIC_MODULES = ("numpy.core.numeric", "numpy._core.numeric")
_BUILTIN_MODULES = ("builtins", "__builtin__")  # Python 3 and Python 2 spellings
_BUILTIN_TYPES = {
    "list",
    "dict",
    "tuple",
    "set",
    "frozenset",
    "str",
    "bytes",
    "bytearray",
    "int",
    "float",
    "complex",
    "bool",
}


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside the allow-list; nothing it names has been called."""


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """`_codecs.encode` as Python 3 writes bytes into protocol-2 pickles, limited to latin-1."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r} (only latin-1)")
    return codecs.encode(text, "latin-1")


def _allowed(module: str, name: str):
    """The object for an admitted global, or None."""
    if module in _NUMPY_MODULES and name in _NUMPY_REBUILDERS:
        return getattr(_multiarray, name)
    if module in _NUMERIC_MODULES and name == "_frombuffer":
        return getattr(_numeric, name)
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    if module in _BUILTIN_MODULES and name in _BUILTIN_TYPES:
        return getattr(builtins, name)
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "_codecs" and name == "encode":
        return _latin1_encode
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers and refuses any other global."""

    def find_class(self, module: str, name: str):
        found = _allowed(module, name)
        if found is None:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: this file is not a plain cache of numpy arrays, "
                "dicts, lists, strings and numbers, and loading it could run code"
            )
        return found


def load(path: str | os.PathLike):
    """Unpickles a file with `RestrictedUnpickler`.

    Python 2 pickles are read with latin-1 strings, as numpy needs for their array data.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list.
        pickle.UnpicklingError, EOFError: the file is not a complete pickle.
    """
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, encoding="latin1").load()
