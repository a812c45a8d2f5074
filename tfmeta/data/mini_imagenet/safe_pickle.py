"""Restricted unpickling for the pre-packed miniImageNet caches.

`pickle.load` runs whatever callable a file names, so a downloaded pickle can execute code. The caches
hold only numeric numpy arrays, dicts, lists, strings and numbers; `load` admits exactly the globals needed
to rebuild those and refuses every other global before anything is called (see "Restricting Globals" in
the Python documentation, https://docs.python.org/3/library/pickle.html#restricting-globals).

A pickle that names only admitted globals can still ask for memory it does not hold: a string whose length
field says 16 GB, a memo slot at index 2**32, an array whose state names 400 million elements. `load`
therefore refuses, before anything is allocated, what the file's size cannot back:
- every length and memo index in the opcode stream must fit the file (`_check_opcodes`, a pass that reads
  the lengths and skips the data);
- the admitted constructors together may allocate at most `_ALLOWED_FACTOR` times the file's size (plus
  `_SLACK`): an honest cache's arrays are built from data bytes that are in the file, at most twice
  (protocol 2 writes them as a latin-1 string that is encoded, then copied into the array);
- arrays of dtype object are refused: no cache format holds them (images are uint8, indices are Python
  ints), and numpy allocates and fills their elements from the state before checking it against the data.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import math
import mmap
import os
import pickle
import pickletools
import struct
from collections.abc import Callable

import numpy as np

try:
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")  # numpy < 2 and >= 2 spellings
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
_ALLOWED_FACTOR = 2
_SLACK = 1 << 20  # what a small file may allocate whatever its size: dtypes, dict entries, scalars
_MAX_DEPTH = 32  # containers nested deeper than this are refused (a cache nests 3 levels)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle names a global outside the allow-list, or asks for more memory than its size can back;
    nothing it names has been called and nothing it asks for has been allocated."""


def load(path: str | os.PathLike):
    """Unpickles a file with `RestrictedUnpickler`, after checking its opcodes' lengths against its size.

    Python 2 pickles are read with latin-1 strings, as numpy needs for their array data.

    Raises:
        UnsafePickleError: the file names a global outside the allow-list or asks for more memory than it
            holds.
        pickle.UnpicklingError, EOFError: the file is not a complete pickle.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                _check_opcodes(data)
        loaded = RestrictedUnpickler(f, size, encoding="latin1").load()
    return _plain(loaded, 0, {})


# How each opcode's argument is laid out: a fixed number of bytes, one or two lines, or a length field.
_LENGTH_FIELDS = {
    pickletools.TAKEN_FROM_ARGUMENT1: "<B",
    pickletools.TAKEN_FROM_ARGUMENT4: "<i",
    pickletools.TAKEN_FROM_ARGUMENT4U: "<I",
    pickletools.TAKEN_FROM_ARGUMENT8U: "<Q",
}
_OPCODES = {op.code.encode("latin-1")[0]: op for op in pickletools.opcodes}
_MEMO_PUTS = {"PUT", "BINPUT", "LONG_BINPUT"}


def _check_opcodes(data: mmap.mmap) -> None:
    """Walks the opcodes up to STOP without building anything, refusing a length field or frame larger
    than the rest of the file and a memo index beyond the opcodes read so far (the unpickler allocates
    memo slots up to the index it is given; honest pickles number their memo entries from 0)."""
    position, end, count = 0, len(data), 0
    while position < end:
        op = _OPCODES.get(data[position])
        if op is None:
            return  # not a pickle opcode: the unpickler reports it
        position, count = position + 1, count + 1
        if op.name == "STOP":
            return
        if op.arg is None:
            continue
        start = position
        position = _skip_argument(data, position, op.arg)
        if op.name == "FRAME" and position == start + 8:
            _fits(struct.unpack_from("<Q", data, start)[0], end - position, "a frame")
        elif op.name in _MEMO_PUTS:
            index = _memo_index(data[start:position])
            if index is not None and index > count:
                raise UnsafePickleError(
                    f"refusing memo index {index} after {count} opcodes: the unpickler would allocate "
                    "memory for every index below it; this is not a cache of arrays"
                )


def _skip_argument(data: mmap.mmap, position: int, arg) -> int:
    """The position after the argument at `position`, its length checked against the file's end."""
    end = len(data)
    if arg.n >= 0:
        return min(position + arg.n, end)
    if arg.n == pickletools.UP_TO_NEWLINE:
        lines = 2 if arg.name == "stringnl_noescape_pair" else 1  # GLOBAL and INST: module, then name
        for _ in range(lines):
            newline = data.find(b"\n", position)
            position = end if newline < 0 else newline + 1
        return position
    field = _LENGTH_FIELDS[arg.n]
    width = struct.calcsize(field)
    if position + width > end:
        return end
    length = struct.unpack_from(field, data, position)[0]
    position += width
    _fits(length, end - position, f"a {arg.name} argument")
    return position + length


def _fits(length: int, available: int, what: str) -> None:
    if length > available:
        raise UnsafePickleError(
            f"refusing {what} of {length} bytes with {available} bytes left in the file; this is not a "
            "cache of arrays"
        )


def _memo_index(argument: bytes) -> int | None:
    """A PUT's index: a decimal line (PUT) or a little-endian unsigned integer (BINPUT, LONG_BINPUT)."""
    if argument.endswith(b"\n"):
        text = argument.strip()
        return int(text) if text.isdigit() and len(text) < 20 else None
    return int.from_bytes(argument, "little")


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """`_codecs.encode` as Python 3 writes bytes into protocol-2 pickles, limited to latin-1."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r} (only latin-1)")
    return codecs.encode(text, "latin-1")


def _refuse_ndarray(*args):
    raise UnsafePickleError(
        "refusing to call numpy.ndarray: it allocates the shape it is given; caches rebuild arrays with "
        "numpy's _reconstruct"
    )


def _allowed(module: str, name: str):
    """The object for an admitted global, or None."""
    if module in _NUMPY_MODULES and name in ("_reconstruct", "scalar"):
        return getattr(_multiarray, name)
    if module in _NUMERIC_MODULES and name == "_frombuffer":
        return _numeric._frombuffer
    if module == "numpy" and name == "ndarray":
        return _refuse_ndarray  # only ever the class argument of _reconstruct
    if module == "numpy" and name == "dtype":
        return np.dtype
    if module in _BUILTIN_MODULES and name in _BUILTIN_TYPES:
        return getattr(builtins, name)
    if module == "collections" and name == "OrderedDict":
        return collections.OrderedDict
    if module == "_codecs" and name == "encode":
        return _latin1_encode
    return None


class _Array(np.ndarray):
    """An array being unpickled: its state is checked before numpy allocates what it names. `load` turns
    each into a plain ndarray."""

    def __setstate__(self, state):
        self._unpickler.admit_state(state)
        super().__setstate__(state)


def _nbytes(shape, dtype: np.dtype) -> int:
    """The bytes an array of `shape` and `dtype` takes, computed without overflow.

    Raises:
        UnsafePickleError: when `shape` is not a tuple of counts.
    """
    shape = tuple(shape) if isinstance(shape, tuple | list) else (shape,)
    if not all(isinstance(n, int | np.integer) and n >= 0 for n in shape):
        raise UnsafePickleError(f"refusing an array of shape {shape!r}")
    return math.prod(int(n) for n in shape) * dtype.itemsize


def _object_dtype(what: str) -> UnsafePickleError:
    return UnsafePickleError(
        f"refusing {what} of dtype object: a miniImageNet cache holds only numeric arrays (uint8 images, "
        "integer indices), and numpy allocates an object array's elements before checking them"
    )


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numeric numpy arrays and plain containers and refuses any other global.
    Every admitted constructor is charged for what it allocates (array data, bytes, copied containers)
    before it runs; past `limit` in all, the pickle is refused."""

    def __init__(self, file, file_size: int, **kwargs):
        super().__init__(file, **kwargs)
        self.file_size = file_size
        self.limit = _ALLOWED_FACTOR * file_size + _SLACK
        self.spent = 0

    def find_class(self, module: str, name: str):
        found = _allowed(module, name)
        if found is None:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: this file is not a plain cache of numpy arrays, "
                "dicts, lists, strings and numbers, and loading it could run code"
            )
        special = {
            _multiarray._reconstruct: self._reconstruct,
            _multiarray.scalar: self._scalar,
            _numeric._frombuffer: self._frombuffer,
            _refuse_ndarray: _refuse_ndarray,
        }
        return special.get(found) or self._charged(found, f"{module}.{name}")

    def charge(self, size: int, what: str) -> None:
        """Counts `size` bytes about to be allocated for `what`, refusing the pickle past the limit."""
        self.spent += size
        if self.spent > self.limit:
            raise UnsafePickleError(
                f"refusing {what}: that makes {self.spent} bytes from a file of {self.file_size}, more than "
                "any cache of arrays needs"
            )

    def _charged(self, constructor: Callable, name: str) -> Callable:
        """`constructor`, charged for the sizes its arguments give (a count for bytes(n), a length for
        a copied string or container); no array may be turned into a container or string."""

        def build(*args):
            if any(isinstance(arg, np.ndarray | np.generic) for arg in args):
                raise UnsafePickleError(f"refusing {name} of an array: caches hold arrays as they are")
            if constructor is str and args and not isinstance(args[0], str | bytes | bytearray):
                raise UnsafePickleError(f"refusing str() of a {type(args[0]).__name__}: caches need none")
            self.charge(sum(_size(arg) for arg in args), f"{name}{_shown(args)}")
            return constructor(*args)

        return build

    def _reconstruct(self, cls, shape, dtype):
        if cls is not _refuse_ndarray:
            raise UnsafePickleError("refusing _reconstruct of anything but numpy.ndarray")
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise _object_dtype("an array")
        self.charge(_nbytes(shape, dtype), f"an array of shape {shape}")
        array = _multiarray._reconstruct(_Array, shape, dtype)
        array._unpickler = self
        return array

    def admit_state(self, state) -> None:
        """Checks an array's pickled state (version, shape, dtype, is_fortran, data) before numpy
        allocates it: a numeric dtype, and the data bytes the shape needs present in the pickle."""
        if not (isinstance(state, tuple) and len(state) in (4, 5)):
            raise UnsafePickleError("refusing an array state that is not numpy's")
        shape, dtype, data = state[-4], state[-3], state[-1]
        if not (isinstance(shape, tuple) and isinstance(dtype, np.dtype)):
            raise UnsafePickleError("refusing an array state without a shape and a numpy dtype")
        if dtype.hasobject:
            raise _object_dtype("an array")
        nbytes = _nbytes(shape, dtype)
        if not isinstance(data, bytes | bytearray | str) or len(data) < nbytes:
            have = len(data) if isinstance(data, bytes | bytearray | str) else 0
            raise UnsafePickleError(
                f"refusing an array of shape {shape} ({nbytes} bytes) whose pickle holds {have} bytes of data"
            )
        self.charge(nbytes, f"an array of shape {shape}")

    def _scalar(self, dtype, *data):
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise _object_dtype("a scalar")
        self.charge(dtype.itemsize, "a numpy scalar")
        return _multiarray.scalar(dtype, *data)

    def _frombuffer(self, buffer, dtype, shape, order):
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise _object_dtype("an array")
        self.charge(_nbytes(shape, dtype), f"an array of shape {shape}")
        return _numeric._frombuffer(buffer, dtype, shape, order)


def _size(arg) -> int:
    """What copying `arg` allocates, in bytes or elements: its length, or its value for an int (bytes(n))."""
    if isinstance(arg, int) and not isinstance(arg, bool):
        return max(arg, 0)
    return len(arg) if hasattr(arg, "__len__") else 0


def _shown(args: tuple) -> str:
    """Arguments for a message: short ones as written, others by type and length."""
    parts = [repr(a) if isinstance(a, int | float) else f"<{type(a).__name__} of {_size(a)}>" for a in args]
    return f"({', '.join(parts)})"


def _plain(value, depth: int, done: dict[int, object]):
    """`value` with each `_Array` replaced by a plain ndarray of the same data: lists and dicts updated in
    place, tuples rebuilt; each container is visited once however often it is referenced.

    Raises:
        UnsafePickleError: containers nested deeper than `_MAX_DEPTH`.
    """
    if isinstance(value, _Array):
        vars(value).pop("_unpickler", None)  # the unpickler's memo would live as long as the array
        return value.view(np.ndarray)
    if not isinstance(value, list | dict | tuple):
        return value
    if id(value) in done:
        return done[id(value)]
    if depth > _MAX_DEPTH:
        raise UnsafePickleError(f"refusing containers nested deeper than {_MAX_DEPTH} levels")
    if isinstance(value, tuple):
        items = tuple(_plain(item, depth + 1, done) for item in value)
        done[id(value)] = value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return done[id(value)]
    done[id(value)] = value
    pairs = enumerate(value) if isinstance(value, list) else list(value.items())
    for key, item in pairs:
        value[key] = _plain(item, depth + 1, done)
    return value
