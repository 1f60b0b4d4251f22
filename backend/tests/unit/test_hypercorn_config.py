"""hypercorn.toml: Hypercorn silently accepts unknown keys, so check every one is real."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from hypercorn.config import Config

from agented.paths import REPO_DIR


@pytest.fixture(scope="module")
def settings() -> dict[str, Any]:
    return tomllib.loads((REPO_DIR / "hypercorn.toml").read_text())


def test_every_key_is_a_real_hypercorn_setting(settings: dict[str, Any]) -> None:
    defaults = Config()
    unknown = [key for key in settings if not hasattr(defaults, key)]
    assert unknown == []


def test_file_loads_through_hypercorn_itself(settings: dict[str, Any]) -> None:
    config = Config.from_toml(REPO_DIR / "hypercorn.toml")
    for key, value in settings.items():
        if key != "bind":  # Config normalises bind into a list of strings
            assert getattr(config, key) == value


def test_single_worker_on_port_20000_and_no_read_timeout(settings: dict[str, Any]) -> None:
    assert settings["workers"] == 1
    assert settings["bind"] == ["127.0.0.1:20000"]
    assert "read_timeout" not in settings, "it would cut quiet SSE streams"
    for deliberate in ("graceful_timeout", "backlog", "accesslog", "errorlog", "loglevel"):
        assert deliberate in settings
