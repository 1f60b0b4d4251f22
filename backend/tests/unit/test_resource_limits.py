"""The open-file limit is raised to the hard limit when serving starts (in a child process)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pytest

from agented.paths import BACKEND_DIR

LOW = 256

# Lowers the soft limit the way a stingy system would, then calls what the
# runtime calls at startup; prints the limits afterwards as JSON.
SCRIPT = f"""
import json, logging, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, ({LOW}, hard))
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
from agented.limits import raise_open_file_limit
returned = raise_open_file_limit()
print(json.dumps([returned, *resource.getrlimit(resource.RLIMIT_NOFILE)]))
"""


def _hard_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@pytest.mark.skipif(_hard_limit() <= LOW, reason="the hard open-file limit is too low to test")
def test_the_soft_open_file_limit_is_raised_to_the_hard_limit_and_logged() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=BACKEND_DIR,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(BACKEND_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    returned, soft, hard = json.loads(result.stdout)
    assert soft == hard == returned
    assert f"open-file limit raised from {LOW} to {hard}" in result.stderr


async def test_the_runtime_raises_the_open_file_limit_when_serving_starts(
    make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr("agented.runtime.raise_open_file_limit", lambda: calls.append("raised"))
    app = make_app()
    assert calls == [], "building the app changes nothing"
    async with app.test_app():
        assert calls == ["raised"]
