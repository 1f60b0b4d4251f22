"""The pinned real CLIs: where they are installed, and a throwaway home pointing each at the mock.

`package.json` and `package-lock.json` beside this file pin the four npm packages;
`scripts/install`'s `install_realcli` (run by the test command) installs them into
`node_modules/` here. Each CLI gets its own throwaway home and config directory,
talks only to the mock provider on 127.0.0.1, has telemetry and update checks off,
and has its own retries bounded (retries of the run are Agented's job, and its tests
must end in seconds). How each reaches a local provider, and what it printed there:
shared/reference/cli-output/real/README.md.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = HERE / "node_modules" / ".bin"
PACKAGES = json.loads((HERE / "package.json").read_text())["dependencies"]
# The backend type, its npm package and the version `--version` prints.
PINNED = {
    "claude": "@anthropic-ai/claude-code",
    "codex": "@openai/codex",
    "gemini": "@google/gemini-cli",
    "opencode": "opencode-ai",
}
MODELS = {
    "claude": None,
    "codex": None,
    "gemini": "gemini-2.5-flash",
    "opencode": "mock/mock-model",
}
API_KEY = "sk-mock-0123456789abcdef"
VERSION_TIMEOUT = 60
# opencode creates and migrates its SQLite database on first use, and two first runs at
# once race there (one fails: "CREATE TABLE `workspace`"): one command creates it first.
WARM_UP = {"opencode": ["session", "list"]}


def version(cli: str) -> str:
    """The pinned version of a CLI."""
    return str(PACKAGES[PINNED[cli]])


def check_installed(cli: str) -> str | None:
    """None when the pinned CLI runs and reports its pinned version; else what is wrong."""
    path = BIN / cli
    if not path.exists():
        return f"{cli} is not installed at {path}: scripts/test installs it (install_realcli)"
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            env={"PATH": os.environ["PATH"], "HOME": str(HERE / "node_modules" / ".version-home")},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{cli} --version failed: {error}"
    if version(cli) not in done.stdout:
        return f"{cli} --version printed {done.stdout.strip()!r}, not the pinned {version(cli)}"
    return None


def warm_up(cli: str, env: dict[str, str]) -> None:
    """Prepare a fresh home (made by cli_env; `env` has PATH too) for runs side by side."""
    if (args := WARM_UP.get(cli)) is not None:
        subprocess.run(
            [str(BIN / cli), *args],
            env=env,
            cwd=env["HOME"],
            capture_output=True,
            timeout=VERSION_TIMEOUT,
            check=True,
            stdin=subprocess.DEVNULL,
        )


def cli_env(cli: str, home: Path, provider: str, *, subscription: bool = False) -> dict[str, str]:
    """The variables a run of `cli` needs on top of PATH, with its config written under `home`.

    `provider` is the mock's base URL, `http://127.0.0.1:PORT`. `subscription` signs claude
    in with a (mock) OAuth token instead of an API key, as a Pro/Max subscription runs.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "NO_COLOR": "1",
        "DO_NOT_TRACK": "1",
    }
    match cli:
        case "claude":
            env |= {
                "ANTHROPIC_BASE_URL": provider,
                ("CLAUDE_CODE_OAUTH_TOKEN" if subscription else "ANTHROPIC_API_KEY"): API_KEY,
                "CLAUDE_CONFIG_DIR": str(home / ".claude"),
                "CLAUDE_CODE_MAX_RETRIES": "0",
                "API_TIMEOUT_MS": "30000",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
                "DISABLE_AUTOUPDATER": "1",
                "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1",
            }
        case "codex":
            codex_home = home / ".codex"
            codex_home.mkdir(exist_ok=True)
            (codex_home / "config.toml").write_text(
                'model = "mock-model"\n'
                'model_provider = "mock"\n'
                "check_for_update_on_startup = false\n"
                "[analytics]\nenabled = false\n"
                "[model_providers.mock]\n"
                'name = "mock"\n'
                f'base_url = "{provider}/v1"\n'
                'env_key = "OPENAI_API_KEY"\n'
                'wire_api = "responses"\n'
                "request_max_retries = 0\n"
                "stream_max_retries = 0\n"
                "stream_idle_timeout_ms = 30000\n"
            )
            env |= {"CODEX_HOME": str(codex_home), "OPENAI_API_KEY": API_KEY}
        case "gemini":
            gemini_dir = home / ".gemini"
            gemini_dir.mkdir(exist_ok=True)
            settings = {
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                "general": {
                    "maxAttempts": 1,
                    "enableAutoUpdate": False,
                    "enableAutoUpdateNotification": False,
                },
                "privacy": {"usageStatisticsEnabled": False},
                "telemetry": {"enabled": False},
            }
            (gemini_dir / "settings.json").write_text(json.dumps(settings))
            env |= {"GEMINI_API_KEY": API_KEY, "GOOGLE_GEMINI_BASE_URL": provider}
        case "opencode":
            config = {
                "$schema": "https://opencode.ai/config.json",
                "autoupdate": False,
                "share": "disabled",
                "provider": {
                    "mock": {
                        "npm": "@ai-sdk/openai-compatible",
                        "name": "mock",
                        "options": {"baseURL": f"{provider}/v1", "apiKey": API_KEY},
                        "models": {"mock-model": {"name": "mock-model"}},
                    }
                },
                "model": "mock/mock-model",
                "small_model": "mock/mock-model",
            }
            path = home / ".config" / "opencode" / "opencode.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(config))
            env |= {
                "OPENCODE_CONFIG": str(path),
                "OPENCODE_DISABLE_AUTOUPDATE": "1",
                "OPENCODE_DISABLE_MODELS_FETCH": "1",
                "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
                "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            }
    return env
