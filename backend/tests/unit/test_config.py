"""Settings from the environment: defaults, validation, documentation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agented import create_app
from agented.config import READ_WHEN_USED, SETTINGS, ConfigError, load_settings
from agented.paths import BACKEND_DIR


def test_defaults_live_inside_backend() -> None:
    settings = load_settings({})
    assert settings["AGENTED_DB_PATH"] == BACKEND_DIR / "agented.db"
    assert settings["AGENTED_SECRET_KEY_FILE"] == BACKEND_DIR / ".secret_key"
    assert settings["LOG_LEVEL"] == "INFO"
    assert settings["CORS_ALLOWED_ORIGINS"] == ()
    assert settings["SECRET_KEY"] is None


def test_values_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "AGENTED_DB_PATH": str(tmp_path / "x.db"),
            "AGENTED_DB_BUSY_TIMEOUT_MS": " 250 ",
            "LOG_LEVEL": "debug",
            "CORS_ALLOWED_ORIGINS": "https://a.example, http://localhost:5173/",
        }
    )
    assert settings["AGENTED_DB_PATH"] == tmp_path / "x.db"
    assert settings["AGENTED_DB_BUSY_TIMEOUT_MS"] == 250
    assert settings["LOG_LEVEL"] == "DEBUG"
    assert settings["CORS_ALLOWED_ORIGINS"] == ("https://a.example", "http://localhost:5173")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AGENTED_DB_BUSY_TIMEOUT_MS", "soon", "must be an integer"),
        ("AGENTED_DB_BUSY_TIMEOUT_MS", "-1", "at least 0"),
        ("AGENTED_MAX_REQUEST_BYTES", "0", "at least 1"),
        ("AGENTED_BODY_TIMEOUT_SECONDS", "0", "at least 1"),
        ("AGENTED_BODY_TIMEOUT_SECONDS", "61", "at most 60"),
        ("LOG_LEVEL", "LOUD", "must be one of"),
        ("CORS_ALLOWED_ORIGINS", "example.com", "is not an origin"),
        ("CORS_ALLOWED_ORIGINS", "https://a.example/path", "is not an origin"),
        ("AGENTED_API_KEY", "a-long-enough-key-1234,short", "at least 16 characters"),
    ],
)
def test_invalid_value_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings({name: value})
    assert str(caught.value).startswith(name)
    with pytest.raises(ConfigError, match=name):
        create_app(environ={name: value})


def test_request_bodies_must_arrive_within_ten_seconds_unless_configured(make_app) -> None:
    assert load_settings({})["AGENTED_BODY_TIMEOUT_SECONDS"] == 10
    assert make_app().config["BODY_TIMEOUT"] == 10, "Quart's own default is 60 s"
    configured = load_settings({"AGENTED_BODY_TIMEOUT_SECONDS": " 3 "})
    assert configured["AGENTED_BODY_TIMEOUT_SECONDS"] == 3
    assert make_app(AGENTED_BODY_TIMEOUT_SECONDS=3).config["BODY_TIMEOUT"] == 3


def test_every_setting_is_documented_in_env_example() -> None:
    text = (BACKEND_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert documented == {setting.name for setting in SETTINGS} | set(READ_WHEN_USED)


def _import_asgi(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "AGENTED_SECRET_KEY_FILE": str(tmp_path / "key"),
        "AGENTED_DB_PATH": str(tmp_path / "db"),
        "AGENTED_ENV_FILE": str(tmp_path / "missing.env"),
    }
    code = "from agented.asgi import app; print(app.config['AGENTED_DB_BUSY_TIMEOUT_MS'])"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_value_stops_the_production_entry_point_with_a_clear_message(tmp_path: Path) -> None:
    result = _import_asgi({"AGENTED_DB_BUSY_TIMEOUT_MS": "ten"}, tmp_path)
    assert result.returncode == 2
    assert "AGENTED_DB_BUSY_TIMEOUT_MS must be an integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_file_is_loaded_without_overriding_the_real_environment(tmp_path: Path) -> None:
    env_file = tmp_path / "agented.env"
    env_file.write_text("AGENTED_DB_BUSY_TIMEOUT_MS=1234\nLOG_LEVEL=WARNING\n")
    loaded = _import_asgi({"AGENTED_ENV_FILE": str(env_file)}, tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "1234"
    real_wins = _import_asgi(
        {"AGENTED_ENV_FILE": str(env_file), "AGENTED_DB_BUSY_TIMEOUT_MS": "99"}, tmp_path
    )
    assert real_wins.stdout.strip() == "99"
