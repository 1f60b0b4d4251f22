"""A console a person can read: quiet reads, the sign-in notice last, JSON for collectors."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from agented.console import QuietReads, SignInNotice, console, json_formatter
from agented.listeners import Listener, local_url, parse_bind
from agented.sign_in import binds_from, main


def access_record(method: str, path: str, status: int | str) -> logging.LogRecord:
    atoms = {"m": method, "U": path, "s": str(status)}
    return logging.LogRecord(
        "hypercorn.access", logging.INFO, "", 0, "%(m)s %(U)s %(s)s", atoms, None
    )


def test_successful_reads_are_counted_not_logged_but_changes_and_failures_are(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    quiet = QuietReads(clock=lambda: now[0], summary_seconds=600)
    assert not quiet.filter(access_record("GET", "/health/liveness", 200))
    assert not quiet.filter(access_record("HEAD", "/", 304))
    assert not quiet.filter(access_record("GET", "/admin/executions/x/stream", 200))
    assert quiet.filter(access_record("POST", "/admin/triggers", 201)), "a change"
    assert quiet.filter(access_record("DELETE", "/admin/triggers/x", 204))
    assert quiet.filter(access_record("GET", "/admin/triggers", 401)), "a failure"
    assert quiet.filter(access_record("GET", "/", 500))
    assert quiet.filter(access_record("GET", "/", "-")), "no response: odd, so shown"
    with caplog.at_level(logging.INFO, logger="agented"):
        now[0] = 601.0
        assert not quiet.filter(access_record("GET", "/", 200))
    [summary] = [r.getMessage() for r in caplog.records if r.name == "agented.console"]
    assert summary.startswith("served 4 successful read requests in the last 10 minutes")


def test_at_debug_level_every_request_is_logged() -> None:
    agented = logging.getLogger("agented")
    previous = agented.level
    agented.setLevel(logging.DEBUG)
    try:
        assert QuietReads().filter(access_record("GET", "/health/liveness", 200))
    finally:
        agented.setLevel(previous)


async def test_the_sign_in_notice_follows_the_last_running_on_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    notice = SignInNotice("SIGN IN HERE", running_lines=2)

    def running(address: str) -> logging.LogRecord:
        return logging.LogRecord(
            "hypercorn.error", logging.INFO, "", 0, f"Running on {address}", None, None
        )

    assert notice.filter(running("http://127.0.0.1:1"))
    await asyncio.sleep(0)  # one loop pass: anything it scheduled has run
    assert "SIGN IN HERE" not in capsys.readouterr().err, "not before the last one"
    assert notice.filter(running("http://127.0.0.1:2"))
    assert "SIGN IN HERE" not in capsys.readouterr().err, "not before that line is written"
    await asyncio.sleep(0)
    assert "SIGN IN HERE" in capsys.readouterr().err
    assert notice.filter(running("http://127.0.0.1:3"))
    await asyncio.sleep(0)
    assert capsys.readouterr().err == "", "once"


def test_outside_hypercorn_the_notice_is_shown_at_once_and_filters_do_not_stack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    access = logging.getLogger("hypercorn.access")
    before = list(access.filters)
    with console("SIGN IN HERE", None, "text"):
        assert "SIGN IN HERE" in capsys.readouterr().err
        assert len(access.filters) == len(before) + 1
    assert access.filters == before


def test_json_log_lines_are_one_object_each() -> None:
    record = logging.LogRecord("agented.x", logging.WARNING, "", 0, "disk %s", ("full",), None)
    line = json.loads(json_formatter().format(record))
    assert line["level"] == "WARNING"
    assert line["logger"] == "agented.x"
    assert line["message"] == "disk full"


def test_binds_come_from_the_command_line_else_from_hypercorn_toml() -> None:
    assert binds_from(["-b", "0.0.0.0:8080"]) == [Listener("0.0.0.0", 8080)]
    assert binds_from(["--bind", "[::1]:9000"]) == [Listener("::1", 9000)]
    assert binds_from([]) == [Listener("127.0.0.1", 20000)]
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_bind("localhost")


def test_a_bind_with_a_certificate_is_tls_and_an_insecure_bind_is_not() -> None:
    argv = ["-b", "0.0.0.0:8443", "--certfile", "c.pem", "--insecure-bind", "127.0.0.1:8080"]
    assert binds_from(argv) == [Listener("0.0.0.0", 8443, True), Listener("127.0.0.1", 8080)]


def test_urls_follow_the_scheme_and_reach_wildcards_through_loopback() -> None:
    assert Listener("0.0.0.0", 20000).url("/mcp") == "http://127.0.0.1:20000/mcp"
    assert Listener("::", 20000, True).url() == "https://[::1]:20000/"
    assert Listener("10.0.0.5", 443, True).url("/x") == "https://10.0.0.5:443/x"
    tls, plain = Listener("0.0.0.0", 8443, True), Listener("127.0.0.1", 8080)
    assert local_url([tls, plain], "/mcp") == "http://127.0.0.1:8080/mcp", "no certificate to trust"
    assert local_url([tls], "/mcp") == "https://127.0.0.1:8443/mcp"
    assert local_url([], "/mcp") is None


def test_sign_in_url_prints_the_link_and_never_makes_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AGENTED_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.delenv("AGENTED_API_KEY", raising=False)
    key_file = tmp_path / "api.key"
    monkeypatch.setenv("AGENTED_API_KEY_FILE", str(key_file))
    assert main([]) == 1
    assert "start the server once" in capsys.readouterr().err
    assert not key_file.exists()
    key_file.write_text("k" * 64 + "\n")
    assert main(["-b", "127.0.0.1:20001"]) == 0
    assert f"http://127.0.0.1:20001/?token={'k' * 64}" in capsys.readouterr().out
    monkeypatch.setenv("AGENTED_API_KEY", "a-configured-key-of-some-length")
    assert main([]) == 0
    assert "?token=a-configured-key-of-some-length" in capsys.readouterr().out
