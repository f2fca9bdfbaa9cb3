"""Which third-party packages our code imports, read with `ast` (nothing is imported or executed).

Used to hold the dependency layer and pyproject.toml to what the code really needs. Imports under
`if TYPE_CHECKING:` are skipped (they never run); imports inside functions count (they run when
the function does).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"clawster", "functions", "layers"}
_SOURCE_ROOTS = {"clawster": REPO / "shared" / "clawster", "functions": REPO / "functions", "layers": REPO / "layers"}


def module_file(module: str) -> Path | None:
    """The source file of a first-party module ("clawster.gateway.client"), or None if there is none."""
    top, *rest = module.split(".")
    base = _SOURCE_ROOTS[top].joinpath(*rest)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    for top, root in _SOURCE_ROOTS.items():
        if path.is_relative_to(root):
            parts = [top, *path.relative_to(root).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise ValueError(f"{path} is not first-party code")


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_runtime(node: ast.AST) -> Iterable[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (n for branch in child.orelse for n in (branch, *_walk_runtime(branch)))
            continue
        yield child
        yield from _walk_runtime(child)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module `path` imports ("from a.b import c" gives a.b and a.b.c)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in _walk_runtime(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    return found


# Namespace packages several distributions share ("azure.core", "azure.mgmt.containerinstance", "google.auth",
# "google.cloud.run_v2"): named down to the package of one distribution, never by the shared top.
NAMESPACES = {"azure": ("mgmt",), "google": ("cloud",)}


def distribution_package(module: str) -> str | None:
    """The name that tells which distribution provides `module`: its top-level name, or within a namespace package
    the distribution's own package (None for the bare namespace, e.g. "google.cloud": it belongs to no one)."""
    parts = module.split(".")
    if parts[0] not in NAMESPACES:
        return parts[0]
    depth = 3 if len(parts) > 1 and parts[1] in NAMESPACES[parts[0]] else 2
    return ".".join(parts[:depth]) if len(parts) >= depth else None


def third_party(modules: Iterable[str]) -> set[str]:
    """Names of third-party packages ("websockets", "jwt", "azure.core", ...): neither the standard library nor ours."""
    names = {distribution_package(m) for m in modules if m.split(".")[0] not in sys.stdlib_module_names}
    return {n for n in names if n and n.split(".")[0] not in FIRST_PARTY and n != "__future__"}


def import_closure(roots: Iterable[str]) -> set[Path]:
    """Every first-party source file that importing `roots` can run (parent packages included)."""
    seen: set[Path] = set()
    pending = list(roots)
    while pending:
        module = pending.pop()
        parts = module.split(".")
        if parts[0] not in FIRST_PARTY:
            continue
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            path = module_file(".".join(parts[:i]))
            if path is not None and path not in seen:
                seen.add(path)
                pending.extend(imported_modules(path))
    return seen


def third_party_imports_of(files: Iterable[Path]) -> dict[str, set[str]]:
    """third-party top-level name -> the files importing it."""
    users: dict[str, set[str]] = {}
    for path in files:
        for name in third_party(imported_modules(path)):
            users.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return users
