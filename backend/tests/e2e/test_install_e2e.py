"""The install step the README's two commands start with: a second run does nothing."""

from __future__ import annotations

import subprocess

from agented.paths import REPO_DIR

INSTALL_TIMEOUT = 900.0  # a first run may install npm packages and build the dashboard


def run_install(then: str = "") -> str:
    """Source scripts/install (which installs), then run `then` in that shell."""
    done = subprocess.run(
        ["bash", "-c", f'source "$1"; {then}', "install", str(REPO_DIR / "scripts" / "install")],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_second_install_with_nothing_changed_installs_and_builds_nothing() -> None:
    run_install()  # whatever is out of date is brought up to date here
    again = run_install()
    assert "==> frontend dependencies up to date" in again
    assert "==> dashboard build up to date" in again
    assert "installing frontend dependencies" not in again
    assert "building the dashboard" not in again


def test_a_second_install_of_the_real_clis_installs_nothing() -> None:
    run_install("install_realcli")
    again = run_install("install_realcli")
    assert "==> the real CLIs for the tests up to date" in again
    assert "installing the real CLIs" not in again
