"""Fixtures shared by every test: an isolated app per test, on temporary files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from agented import create_app

AppFactory = Callable[..., Quart]


@pytest.fixture
def app_overrides(tmp_path: Path) -> dict[str, Any]:
    """Config that keeps the database and key file inside the test's own directory."""
    return {
        "TESTING": True,
        "AGENTED_DB_PATH": tmp_path / "agented.db",
        "AGENTED_SECRET_KEY_FILE": tmp_path / ".secret_key",
    }


@pytest.fixture
def make_app(app_overrides: dict[str, Any]) -> AppFactory:
    """Build an app from an empty environment, so the developer's shell cannot leak in."""

    def factory(**overrides: Any) -> Quart:
        return create_app({**app_overrides, **overrides}, environ={})

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
