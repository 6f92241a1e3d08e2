"""Standard modules the shim no longer imports at start-up, resolved as if it still did.

The shim used to import `logging`, `json`, `traceback` and `datetime` (and what they
import: `re`, `enum`, `functools`, `types`, ...) before the function's code ran.  That
was most of its cold-start cost, and it had two effects the function can see, which
`StdlibFinder` (a `sys.meta_path` finder) keeps without the imports:

- Those modules came from the standard library even when the function's code, which is
  first on sys.path, has a file of the same name (say `types.py`): a later
  `import types` got the module already imported.  The finder resolves these names
  against the start-up sys.path, so the standard module still wins; and the shim's own
  deferred imports cannot pick up a user's file either.
- `logging` had the runtime's handler on its root logger before the function's code ran
  (AWS's runtime installs it first).  `on_import` runs a callback right after the
  module's code has run, before whoever imported it gets it back.

The finder sits just before the PathFinder on sys.meta_path, so built-in and frozen
modules, and finders added in front of it, resolve as they always did.
"""

import sys

from _frozen_importlib_external import PathFinder

# Top-level modules that the old start-up imports pulled in, beyond those the
# interpreter imports by itself (CPython 3.8 to 3.13, union).  Submodules follow
# their package.
PRELOADED = frozenset(
    """
    _collections _colorize _datetime _functools _heapq _json _locale _operator _sre
    _string _tokenize _weakrefset atexit collections contextlib copyreg datetime enum
    functools heapq importlib itertools json keyword linecache logging math operator re
    reprlib sre_compile sre_constants sre_parse string textwrap threading token tokenize
    traceback types warnings weakref
    """.split()
)


class StdlibFinder:
    def __init__(self, path=()):
        # The names resolved against the start-up sys.path, and that path.
        self.names = PRELOADED
        self.path = list(path)
        # Module name -> callback(module) to run once the module is first imported.
        self.hooks = {}

    def install(self):
        meta = sys.meta_path
        for i, finder in enumerate(meta):
            if finder is PathFinder:
                meta.insert(i, self)
                return
        meta.insert(0, self)

    def on_import(self, name, callback):
        """callback(module) right after `name` is first imported; now if it already is."""
        module = sys.modules.get(name)
        if module is not None:
            callback(module)
        else:
            self.hooks[name] = callback

    def run_missed_hooks(self):
        """Runs the hooks of modules imported without this finder seeing them (a
        finder in front of it found them)."""
        for name in [n for n in self.hooks if n in sys.modules]:
            module = sys.modules[name]
            # Not while another thread is still executing it.
            if not getattr(getattr(module, "__spec__", None), "_initializing", False):
                self._run_hook(name, module)

    def _run_hook(self, name, module):
        callback = self.hooks.pop(name, None)  # once, whichever spec runs first
        if callback is not None:
            callback(module)

    def find_spec(self, fullname, path=None, target=None):
        # Top-level imports only (no reloads, whose target decides).
        if path is not None or target is not None:
            return None
        if fullname not in self.names and fullname not in self.hooks:
            return None
        spec = PathFinder.find_spec(fullname, self.path)
        if spec is not None and fullname in self.hooks:
            # If the loader cannot be hooked, run_missed_hooks() will do.
            _call_after_exec(spec, lambda module: self._run_hook(fullname, module))
        return spec


def _call_after_exec(spec, callback):
    """Makes spec's loader call callback(module) after executing the module."""
    loader = spec.loader
    exec_module = getattr(loader, "exec_module", None)
    if exec_module is None or isinstance(loader, type):
        return

    def exec_module_then_callback(module):
        # The loader stays the module's __loader__: leave nothing of ours on it.
        try:
            del loader.exec_module
        except AttributeError:
            pass
        exec_module(module)
        callback(module)

    try:
        loader.exec_module = exec_module_then_callback
    except (AttributeError, TypeError):
        pass
