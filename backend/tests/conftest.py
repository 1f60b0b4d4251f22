"""Fixtures shared by every test: an isolated app per test, on temporary files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient
from quart.typing import TestClientProtocol
from werkzeug.datastructures import Headers

from agented import create_app
from agented.config import SETTING_NAMES

from .support.keys import TEST_API_KEY
from .support.postgres import (
    DATABASE_ENGINES,
    create_migrated_template,
    database_copy,
    running_postgres,
)

AppFactory = Callable[..., Quart]


class KeyedClient(QuartClient):
    """Sends the test API key unless a test brings its own (`X-API-Key: ""` for none)."""

    @staticmethod
    def _with_key(headers: Any) -> Headers:
        merged = Headers(headers or {})
        if "X-API-Key" not in merged and "Authorization" not in merged:
            merged["X-API-Key"] = TEST_API_KEY
        return merged

    async def _make_request(self, path: str, method: str, headers: Any, *args: Any, **kwargs: Any):  # type: ignore[override]
        return await super()._make_request(path, method, self._with_key(headers), *args, **kwargs)

    def request(self, path: str, *, headers: Any = None, **kwargs: Any):  # type: ignore[override]
        return super().request(path, headers=self._with_key(headers), **kwargs)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=DATABASE_ENGINES,
        default="sqlite",
        help="the engine every test app stores in: sqlite (a file per test) or postgres (a "
        "database per test on a throwaway PostgreSQL server started for the session)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: checks SQLite itself (its files, pragmas); not run on postgres"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, leave out the tests of SQLite itself (they say so with a marker)."""
    if config.getoption("--database") == "sqlite":
        return
    kept = [item for item in items if item.get_closest_marker("sqlite_only") is None]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Config that keeps the database and key file inside the test's own directory (or, with
    `--database postgres`, the database in a PostgreSQL database of the test's own)."""
    overrides: dict[str, Any] = {
        "TESTING": True,
        "AGENTED_DB_PATH": tmp_path / "agented.db",
        "AGENTED_SECRET_KEY_FILE": tmp_path / ".secret_key",
        "AGENTED_API_KEY": (TEST_API_KEY,),
    }
    if request.config.getoption("--database") == "postgres":
        overrides["AGENTED_DATABASE_URL"] = request.getfixturevalue("postgres_database")
    return overrides


def environment_without_settings() -> dict[str, str]:
    """The test process's environment minus every setting: what the CLIs need (PATH), no more."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in SETTING_NAMES and not name.startswith("AGENTED_")
    }


@pytest.fixture
def make_app(app_overrides: dict[str, Any]) -> AppFactory:
    """Build an app whose settings come only from the test, so the developer's shell cannot
    leak in; its CLIs run in the test process's environment (`environ` replaces that)."""

    def factory(*, environ: Mapping[str, str] | None = None, **overrides: Any) -> Quart:
        if environ is None:
            environ = environment_without_settings()
        app = create_app({**app_overrides, **overrides}, environ=environ)
        app.test_client_class = KeyedClient
        return app

    return factory


@pytest.fixture
async def serving_app(make_app: AppFactory) -> AsyncIterator[Quart]:
    """An app whose serving lifecycle (lock, database, services) is running."""
    app = make_app()
    async with app.test_app():
        yield app


@pytest.fixture
def client(serving_app: Quart) -> TestClientProtocol:
    return serving_app.test_client()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The URL of a test database on a real PostgreSQL server, started once per session on
    loopback in a temporary directory and removed afterwards (tests/support/postgres.py)."""
    with running_postgres() as server:
        yield server.dsn


@pytest.fixture(scope="session")
def postgres_template(postgres_dsn: str) -> str:
    """The name of a database migrated to the shipped schema, which each test's copies."""
    return create_migrated_template(postgres_dsn)


@pytest.fixture
def postgres_database(postgres_dsn: str, postgres_template: str) -> Iterator[str]:
    """The URL of a fresh, migrated database of the test's own, dropped afterwards."""
    with database_copy(postgres_dsn, postgres_template) as url:
        yield url
