"""Pointing a command-line entry point at the database a test app uses."""

from __future__ import annotations

from typing import Any

import pytest


def use_the_apps_database(monkeypatch: pytest.MonkeyPatch, app_overrides: dict[str, Any]) -> None:
    """Set the environment a `python -m agented.…` command reads to the test app's database
    (its SQLite file, or its PostgreSQL database under `--database postgres`)."""
    monkeypatch.setenv("AGENTED_DB_PATH", str(app_overrides["AGENTED_DB_PATH"]))
    if "AGENTED_DATABASE_URL" in app_overrides:
        monkeypatch.setenv("AGENTED_DATABASE_URL", app_overrides["AGENTED_DATABASE_URL"])
