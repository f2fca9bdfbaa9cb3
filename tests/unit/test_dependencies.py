"""pyproject.toml declares exactly what the installed code imports, with ranges the exact pins satisfy.

So `pip install .` gives a working `clawster` (every command, the local stack included), and the
venv scripts/setup.sh builds from requirements/*.txt is one of the installs those ranges allow.
"""

from __future__ import annotations

import importlib.metadata
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.third_party_imports import NAMESPACES, REPO, distribution_package, import_closure, third_party_imports_of

PACKAGED = ("shared/clawster", "functions", "layers")  # [tool.setuptools.packages.find] ships these


def declared() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(line) for line in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in requirements}


def pins() -> dict[str, Requirement]:
    """The exact pins of requirements/*.txt (setup installs these)."""
    found = {}
    for path in sorted((REPO / "requirements").glob("*.txt")):
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                requirement = Requirement(line)
                found[canonicalize_name(requirement.name)] = requirement
    return found


def _providers() -> dict[str, list[str]]:
    """import name -> the distributions providing it: top-level names, and the packages inside namespace packages
    ("azure.core", "google.cloud.run_v2") by the files each distribution installs."""
    providers = dict(importlib.metadata.packages_distributions())
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            if file.name == "__init__.py" and file.parts[0] in NAMESPACES:
                name = ".".join(file.parts[:-1])
                if distribution_package(name) == name:
                    providers.setdefault(name, []).append(dist.metadata["Name"])
    return providers


def distributions_of(import_names: set[str]) -> dict[str, set[str]]:
    """distribution name -> the import names it provides, from what is installed in this venv."""
    providers = _providers()
    by_dist: dict[str, set[str]] = {}
    for name in import_names:
        assert name in providers, f"{name} is imported but no installed distribution provides it"
        for dist in providers[name]:
            by_dist.setdefault(canonicalize_name(dist), set()).add(name)
    return by_dist


def test_declared_dependencies_are_exactly_what_the_packaged_code_imports():
    files = [path for root in PACKAGED for path in (REPO / root).rglob("*.py")]
    users = third_party_imports_of(files)
    needed = distributions_of(set(users))
    missing = {dist: sorted(set().union(*(users[n] for n in names))) for dist, names in needed.items() if dist not in declared()}
    assert not missing, f"imported but not in pyproject.toml dependencies: {missing}"
    unused = set(declared()) - set(needed)
    assert not unused, f"declared in pyproject.toml but imported by nothing: {unused}"


def test_the_cli_needs_only_declared_dependencies():
    """The console script's own import closure (and the handlers its local stack imports by name)."""
    from functions.catalog import FUNCTIONS

    files = import_closure(["clawster.cli", *(f.module for f in FUNCTIONS)])
    assert any(p.parts[-2:] == ("cli", "__init__.py") or p.name == "cli.py" for p in files), "the CLI was not found"
    needed = distributions_of(set(third_party_imports_of(files)))
    assert {"typer", "moto", "aws-lambda-powertools"} <= set(needed)  # the scan does reach the CLI, local stack, handlers
    assert set(needed) <= set(declared())


def test_every_pin_is_inside_its_declared_range():
    pinned = pins()
    for name, requirement in declared().items():
        assert name in pinned, f"{name} is declared but not pinned in requirements/*.txt"
        (version,) = [spec.version for spec in pinned[name].specifier if spec.operator == "=="]
        assert requirement.specifier.contains(version), f"{name}=={version} is outside {requirement.specifier}"
        assert pinned[name].extras == requirement.extras, f"{name}: extras differ from requirements/*.txt"


def test_moto_brings_only_the_emulated_services():
    moto = pins()["moto"]
    assert "all" not in moto.extras
    assert {"server", "dynamodb", "stepfunctions", "awslambda", "secretsmanager", "s3", "scheduler"} <= moto.extras
    offered = set(importlib.metadata.metadata("moto").get_all("Provides-Extra"))
    assert moto.extras <= offered, f"moto {importlib.metadata.version('moto')} has no extra {moto.extras - offered}"
