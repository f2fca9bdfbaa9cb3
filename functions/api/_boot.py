"""Cold-start set-up of an API function. Every entry module imports this first (before Powertools).

Two savings, measured by bench/cold_start.py (docs/decisions.md has the numbers):

- Lazy Powertools facades. The packages `aws_lambda_powertools.event_handler` and
  `aws_lambda_powertools.utilities.data_classes` only re-export names from their submodules, and so
  import every resolver (AppSync, Bedrock, VPC Lattice, HTTP...) and every event class, asyncio
  included, for a function that uses one resolver. Each is replaced by a module that imports a name
  from its submodule the first time it is asked for. The map of names is read from the facade's own
  import statements, so it follows Powertools upgrades; a facade that ever does more than re-export
  is left alone.
- No garbage collection during the imports. They create some hundred thousand objects, which set
  off about a hundred collections that find nothing to free. The collector is off from here until
  `ready()` (called by `lambda_entry`), which freezes what the imports built (it lives as long as the
  process) and turns the collector back on before the first request. Only the first function
  imported in a process pauses and freezes, so a long-lived process that imports several (the local
  stack) ends with the collector on; if that import fails, the next function built turns it back on
  (in Lambda a failed INIT ends the process anyway).
"""

from __future__ import annotations

import ast
import gc
import importlib
import importlib.util
import sys
import types
from pathlib import Path

LAZY_FACADES = ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")


class LazyFacade(types.ModuleType):
    """A package whose __init__ is skipped: each re-exported name is imported when first used."""

    _exports: dict[str, tuple[str, str]]  # name -> (module it comes from, its name there)

    def __getattr__(self, name: str):
        if name not in self._exports:  # a submodule: the import system loads it when this fails
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        source, original = self._exports[name]
        value = getattr(importlib.import_module(source), original)
        super().__setattr__(name, value)
        return value

    def __setattr__(self, name: str, value) -> None:
        # The import system binds each loaded submodule on its package. Where the facade re-exports an
        # object of the same name (data_classes.event_source, a function), the object wins, as it does
        # in the real facade.
        if isinstance(value, types.ModuleType) and name in self._exports:
            return
        super().__setattr__(name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._exports))


def reexports(source: str, package: str) -> tuple[dict[str, tuple[str, str]], list[str]] | None:
    """The names a package __init__ re-exports and its __all__, or None if it does anything else."""
    exports: dict[str, tuple[str, str]] = {}
    public: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            public = list(ast.literal_eval(node.value))
            continue
        if not isinstance(node, ast.ImportFrom) or not node.module or any(a.name == "*" for a in node.names):
            return None  # code, or an import we cannot map name by name: keep the real facade
        if node.module == "__future__":
            continue
        origin = importlib.util.resolve_name("." * node.level + node.module, package)
        if origin == package:
            return None
        exports.update({alias.asname or alias.name: (origin, alias.name) for alias in node.names})
    return exports, public


def install_lazy_facades(names: tuple[str, ...] = LAZY_FACADES) -> None:
    for name in names:
        if name in sys.modules:
            continue  # already imported for real: nothing left to save
        spec = importlib.util.find_spec(name)  # imports the parent packages, not this one
        if spec is None or spec.origin is None:
            continue
        parsed = reexports(Path(spec.origin).read_text(), name)
        if parsed is None:
            continue
        module = importlib.util.module_from_spec(spec)
        module._exports, module.__all__ = parsed
        module.__class__ = LazyFacade
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)


_collector_paused = False


def pause_collector() -> None:
    global _collector_paused
    if gc.isenabled():
        gc.disable()
        _collector_paused = True


def ready() -> None:
    """The entry module is built: freeze what the imports created and turn the collector back on."""
    global _collector_paused
    if _collector_paused:
        _collector_paused = False
        gc.freeze()
        gc.enable()


pause_collector()
install_lazy_facades()
