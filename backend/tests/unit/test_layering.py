"""Imports point one way, HTTP stays at the edge, and every domain error has its one status.

Read from the source with `ast`, so a new import that breaks the layering
fails here by module name before anyone has to notice it in review.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from agented import errors
from agented.api.errors import STATUS
from agented.paths import BACKEND_DIR

PACKAGE = BACKEND_DIR / "agented"
# Below the edge: the services and what they stand on.
BELOW_THE_EDGE = (
    "accounts",
    "agents",
    "events",
    "executions",
    "monitoring",
    "triggers",
    "storage",
    "bot_service",
    "scheduler",
)
BOTTOM = ("errors", "models", "config", "http")
EDGE = ("agented.api", "agented.security")
HTTP_LIBRARIES = ("quart", "quart_schema", "werkzeug", "hypercorn")


def _module_name(path: Path) -> str:
    parts = path.relative_to(BACKEND_DIR).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved to absolute names."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules_under(*names: str) -> list[Path]:
    paths: list[Path] = []
    for name in names:
        if (PACKAGE / name).is_dir():
            paths.extend(sorted((PACKAGE / name).rglob("*.py")))
        else:
            paths.append(PACKAGE / f"{name}.py")
    return paths


def _offenders(paths: list[Path], prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    offenders = {}
    for path in paths:
        bad = sorted(
            name
            for name in _imports(path)
            if any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)
        )
        if bad:
            offenders[_module_name(path)] = bad
    return offenders


def test_nothing_below_the_edge_imports_the_api_or_the_security_layer() -> None:
    # The runtime too: the edge hands it its start-up checks as a callable.
    assert _offenders(_modules_under("runtime", *BELOW_THE_EDGE, *BOTTOM), EDGE) == {}


def test_no_service_imports_an_http_library() -> None:
    below = _modules_under(*BELOW_THE_EDGE, "errors", "models", "config")
    assert _offenders(below, HTTP_LIBRARIES) == {}


def test_the_http_package_imports_nothing_of_agented_above_it() -> None:
    allowed = ("agented.http", "agented.log")
    imported = {
        name
        for path in _modules_under("http")
        for name in _imports(path)
        if name.startswith("agented") and not name.startswith(allowed)
    }
    assert imported == set()


def test_every_domain_error_has_a_status_at_the_edge() -> None:
    abstract = {errors.AgentedError, errors.RunRefused}  # bases that name no reason
    concrete = [
        kind
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, errors.AgentedError) and kind not in abstract
    ]
    assert concrete, "agented.errors declares the domain errors"
    missing = [kind.__name__ for kind in concrete if not set(kind.__mro__) & set(STATUS)]
    assert missing == []
