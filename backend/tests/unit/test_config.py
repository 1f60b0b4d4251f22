"""Settings from the environment: defaults, validation, documentation."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agented import create_app
from agented.config import SETTINGS, ConfigError, load_settings
from agented.paths import BACKEND_DIR


def test_defaults_live_inside_backend() -> None:
    settings = load_settings({})
    assert settings.db_path == BACKEND_DIR / "agented.db"
    assert settings.secret_key_file == BACKEND_DIR / ".secret_key"
    assert settings.log_level == "INFO"
    assert settings.cors_allowed_origins == ()
    assert settings.secret_key is None


def test_values_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "AGENTED_DB_PATH": str(tmp_path / "x.db"),
            "AGENTED_DB_BUSY_TIMEOUT_MS": " 250 ",
            "LOG_LEVEL": "debug",
            "CORS_ALLOWED_ORIGINS": "https://a.example, http://localhost:5173/",
        }
    )
    assert settings.db_path == tmp_path / "x.db"
    assert settings.db_busy_timeout_ms == 250
    assert settings.log_level == "DEBUG"
    assert settings.cors_allowed_origins == ("https://a.example", "http://localhost:5173")


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
        ("AGENTED_PUBLIC_URL", "agented.internal:20000", "absolute http:// or https:// URL"),
        ("AGENTED_PUBLIC_URL", "/agented", "absolute http:// or https:// URL"),
        ("AGENTED_PUBLIC_URL", "ftp://agented.internal", "absolute http:// or https:// URL"),
        ("AGENTED_PUBLIC_URL", "http://agented.internal/?x=1", "no.* query or a fragment"),
        ("AGENTED_PUBLIC_URL", "http://agented.internal/#top", "no.* query or a fragment"),
        ("AGENTED_PUBLIC_URL", "http://agented.internal:port", "invalid port"),
        ("AGENTED_PUBLIC_URL", "http://agented.internal:0", "invalid port"),
        ("AGENTED_PUBLIC_URL", "http://agented .internal", "spaces"),
        ("AGENTED_PUBLIC_URL", "http://me:hunter2@agented.internal", "user name or password"),
    ],
)
def test_invalid_value_names_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings({name: value})
    assert str(caught.value).startswith(name)
    with pytest.raises(ConfigError, match=name):
        create_app(environ={name: value})


def test_the_public_url_keeps_its_path_prefix_without_the_trailing_slash() -> None:
    assert load_settings({}).public_url is None
    read = {
        " http://agented.internal:20000/ ": "http://agented.internal:20000",
        "https://example.com/agented/": "https://example.com/agented",
        "http://[::1]:8080": "http://[::1]:8080",
    }
    for value, expected in read.items():
        assert load_settings({"AGENTED_PUBLIC_URL": value}).public_url == expected


def test_a_public_url_with_a_password_is_refused_without_showing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"AGENTED_PUBLIC_URL": "http://me:hunter2@agented.internal"})
    assert "hunter2" not in str(caught.value)


def test_request_bodies_must_arrive_within_ten_seconds_unless_configured(make_app) -> None:
    assert load_settings({}).body_timeout_seconds == 10
    assert make_app().config["BODY_TIMEOUT"] == 10, "Quart's own default is 60 s"
    configured = load_settings({"AGENTED_BODY_TIMEOUT_SECONDS": " 3 "})
    assert configured.body_timeout_seconds == 3
    assert make_app(AGENTED_BODY_TIMEOUT_SECONDS=3).config["BODY_TIMEOUT"] == 3


def test_settings_keep_secrets_and_the_cli_environment_out_of_their_repr() -> None:
    settings = load_settings(
        {
            "SECRET_KEY": "secret-key-value",
            "AGENTED_API_KEY": "api-key-value-0123456789",
            "GITHUB_WEBHOOK_SECRET": "github-secret-value",
            "ANTHROPIC_API_KEY": "a-cli-credential",
        }
    )
    shown = repr(settings)
    for value in ("secret-key-value", "api-key-value", "github-secret-value", "a-cli-credential"):
        assert value not in shown
    assert settings.cli_environment == {"ANTHROPIC_API_KEY": "a-cli-credential"}


def test_every_setting_is_documented_in_env_example() -> None:
    text = (BACKEND_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))
    assert documented == {setting.name for setting in SETTINGS}


def _import_asgi(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "AGENTED_SECRET_KEY_FILE": str(tmp_path / "key"),
        "AGENTED_DB_PATH": str(tmp_path / "db"),
        "AGENTED_ENV_FILE": str(tmp_path / "missing.env"),
    }
    code = (
        "from agented.asgi import app; from agented.config import SETTINGS_KEY; "
        "print(app.extensions[SETTINGS_KEY].db_busy_timeout_ms)"
    )
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


def _signed_ping(secret: str) -> dict[str, Any]:
    body = b'{"zen": "Keep it logically awesome."}'
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
    }
    return {"data": body, "headers": headers}


async def test_two_apps_built_from_different_environments_serve_independently_at_once(
    tmp_path: Path,
) -> None:
    def environ(name: str, **settings: str) -> dict[str, str]:
        return {
            "AGENTED_DB_PATH": str(tmp_path / f"{name}.db"),
            "AGENTED_SECRET_KEY_FILE": str(tmp_path / f"{name}.secret_key"),
            **settings,
        }

    key_a, key_b = "a-key-0123456789abcdef", "b-key-0123456789abcdef"
    strict = create_app(
        environ=environ(
            "strict",
            AGENTED_API_KEY=key_a,
            AGENTED_RATE_LIMIT_ADMIN="2/60",
            GITHUB_WEBHOOK_SECRET="strict-github-secret",
        )
    )
    lenient = create_app(environ=environ("lenient", AGENTED_API_KEY=key_b))
    async with strict.test_app(), lenient.test_app():
        a, b = strict.test_client(), lenient.test_client()
        assert (await a.get("/admin/triggers", headers={"X-API-Key": key_b})).status_code == 401
        assert (await b.get("/admin/triggers", headers={"X-API-Key": key_a})).status_code == 401
        statuses_a = [
            (await a.get("/admin/triggers", headers={"X-API-Key": key_a})).status_code
            for _ in range(3)
        ]
        statuses_b = [
            (await b.get("/admin/triggers", headers={"X-API-Key": key_b})).status_code
            for _ in range(3)
        ]
        assert statuses_a == [200, 200, 429], "the strict app's own admin limit"
        assert statuses_b == [200, 200, 200], "the default limit, untouched by the other app"
        ping = _signed_ping("strict-github-secret")
        assert (await a.post("/api/webhooks/github", **ping)).status_code == 200
        refused = await b.post("/api/webhooks/github", **ping)
        assert refused.status_code == 401, "no GitHub secret in the lenient app's environment"
