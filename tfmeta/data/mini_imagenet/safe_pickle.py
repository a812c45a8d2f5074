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
    """An unpickler that rebuilds numpy arrays and plain containers and refuses any other global; the
    constructors that take a size (`bytes(n)`, `bytearray(n)`, an array of a given shape) are refused
    before they allocate more bytes than the file holds, which no honest cache needs."""

    def __init__(self, file, limit: int, **kwargs):
        super().__init__(file, **kwargs)
        self.limit = limit

    def find_class(self, module: str, name: str):
        found = _allowed(module, name)
        if found is None:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: this file is not a plain cache of numpy arrays, "
                "dicts, lists, strings and numbers, and loading it could run code"
            )
        if found in (bytes, bytearray):
            return self._sized(found)
        if found is _multiarray._reconstruct:
            return self._reconstruct
        return found

    def _refuse(self, what: str, size: int):
        raise UnsafePickleError(
            f"refusing {what}: {size} bytes from a file of {self.limit}; this is not a cache of arrays"
        )

    def _sized(self, constructor):
        def build(*args):
            if args and isinstance(args[0], int) and args[0] > self.limit:
                self._refuse(f"{constructor.__name__}({args[0]})", args[0])
            return constructor(*args)

        return build

    def _reconstruct(self, cls, shape, dtype):
        size = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize if shape else 0
        if size > self.limit:
            self._refuse(f"an array of shape {tuple(shape)}", size)
        return _multiarray._reconstruct(cls, shape, dtype)


def load(path: str | os.PathLike):
    """Unpickles a file with `RestrictedUnpickler`.

    Python 2 pickles are read with latin-1 strings, as numpy needs for their array data.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list.
        pickle.UnpicklingError, EOFError: the file is not a complete pickle.
    """
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, os.fstat(f.fileno()).st_size, encoding="latin1").load()
