"""tfmeta's Keras classes registered with Keras serialization as soon as Keras is loaded, without
`import tfmeta` loading TensorFlow.

A `.keras` file names a custom class by its registered name (`tfmeta>LSTMOptimizer`), and Keras finds
only classes whose module has run its `@keras.saving.register_keras_serializable` decorator: it never
imports a module named in a file outside Keras itself. So a model compiled with the LSTM optimizer would
load only after `import tfmeta.optimizers`, which imports TensorFlow and Keras. `import tfmeta` stays
cheap instead (the command line's records layer and the leaderboard app import no TensorFlow) and
installs an import hook: the moment both Keras and TensorFlow have finished importing, whoever imports
them, it imports `tfmeta.optimizers.lstm_optimizer`, whose decorators register `LSTMOptimizer` and its
`CoordinatewiseLSTM`. Where both are loaded already, it registers them at once.

Keras has no plugin entry points for serialization to hook into instead, and the hook waits for both
modules because each imports the other half-way: `import tensorflow` ends by importing Keras's
optimizers, and Keras's TensorFlow backend imports TensorFlow; a registration in between would run on a
half-initialised module. Under another Keras backend nothing is registered (the optimizer runs on
TensorFlow only) and TensorFlow is not loaded for it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import warnings

WATCHED = ("keras", "tensorflow")
REGISTERING_MODULE = "tfmeta.optimizers.lstm_optimizer"

_lock = threading.RLock()
_executing: set[str] = set()  # watched modules whose code is running now, through `_Loader`
_executed: set[str] = set()  # and those whose code has run through it


def install() -> None:
    """Registers now if Keras and TensorFlow are loaded, else when they are."""
    if not _register_if_ready():
        with _lock:
            if not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
                sys.meta_path.insert(0, _AfterImport())


def _ready() -> bool | None:
    """True: register now; False: wait for an import; None: never (another Keras backend)."""
    if _executing or any(name not in sys.modules for name in WATCHED):
        return False
    # A module loaded before the hook was installed may still be importing (the import system's own flag,
    # which stays set on a module loaded through `_Loader` until its `exec_module` has returned).
    if any(
        name not in _executed and getattr(sys.modules[name].__spec__, "_initializing", False)
        for name in WATCHED
    ):
        return False
    try:
        backend = sys.modules["keras"].config.backend()
    except AttributeError:  # an incomplete or unusual Keras; leave it alone
        return None
    return True if backend == "tensorflow" else None


def _register_if_ready() -> bool:
    """Whether the hook is done with: registered, or never will."""
    with _lock:
        ready = _ready()
        if ready is False:
            return False
        _uninstall()
    if ready:
        try:
            importlib.import_module(REGISTERING_MODULE)
        except Exception as err:  # never fail the user's `import keras` for it
            warnings.warn(
                f"tfmeta could not register its Keras classes ({type(err).__name__}: {err}); "
                f"`import {REGISTERING_MODULE}` before loading a model that uses them",
                stacklevel=2,
            )
    return True


def _uninstall() -> None:
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _AfterImport)]


class _AfterImport:
    """A `sys.meta_path` finder: finds a watched module through the other finders and wraps its loader
    (`_Loader`)."""

    def __init__(self):
        self._finding: set[str] = set()

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in WATCHED or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding.discard(fullname)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec


class _Loader:
    """A watched module's own loader, and the registration check once its code has run."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: the module's own loader's
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # The module keeps its own loader, as if this one had never been there.
        module.__loader__ = self._loader
        if module.__spec__ is not None and module.__spec__.loader is self:
            module.__spec__.loader = self._loader
        with _lock:
            _executing.add(module.__name__)
        try:
            self._loader.exec_module(module)
            _executed.add(module.__name__)
        finally:
            with _lock:
                _executing.discard(module.__name__)
        _register_if_ready()
