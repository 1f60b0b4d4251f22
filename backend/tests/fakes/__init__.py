"""Fake AI CLIs for tests: `claude`, `codex`, `gemini` and `opencode` scripts (see fake_cli.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

FAKES_DIR = Path(__file__).resolve().parent


def fake_cli_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the fakes first on PATH, run by the tests' own interpreter."""
    path = environ.get("PATH", os.defpath)
    return {**environ, "PATH": f"{FAKES_DIR}{os.pathsep}{path}", "FAKE_CLI_PYTHON": sys.executable}
