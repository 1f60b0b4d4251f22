"""The three-tier secret key loader."""

from __future__ import annotations

import logging
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from agented.secret_key import KeyFileError, load_secret_key


def test_environment_value_wins_and_touches_no_file(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    assert load_secret_key("from-env", key_file) == "from-env"
    assert not key_file.exists()


def test_existing_key_file_is_used(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("persisted-key\n")
    key_file.chmod(0o600)
    assert load_secret_key(None, key_file) == "persisted-key"


def test_new_key_is_generated_persisted_and_owner_only(tmp_path: Path) -> None:
    key_file = tmp_path / "nested" / "key"
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        key = load_secret_key(None, key_file)
    finally:
        os.umask(old_umask)
    assert len(key) == 64
    int(key, 16)
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["key"], "no temporary file left"


def test_restart_yields_identical_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    assert load_secret_key(None, key_file) == load_secret_key(None, key_file)


def _load_in_process(barrier: multiprocessing.synchronize.Barrier, key_file: str, queue) -> None:
    barrier.wait(timeout=30)
    queue.put(load_secret_key(None, Path(key_file)))


def test_concurrent_first_start_agrees_on_one_key(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    context = multiprocessing.get_context("spawn")
    contenders = 6
    barrier = context.Barrier(contenders)
    queue = context.Queue()
    processes = [
        context.Process(target=_load_in_process, args=(barrier, str(key_file), queue))
        for _ in range(contenders)
    ]
    for process in processes:
        process.start()
    keys = {queue.get(timeout=60) for _ in processes}
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert keys == {key_file.read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"  \n\t\n", "is empty"), (b"\xff\xfe\x00", "is not UTF-8")],
)
def test_unusable_key_file_is_an_error_not_a_new_key(
    tmp_path: Path, content: bytes, message: str
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(content)
    with pytest.raises(KeyFileError, match=message) as caught:
        load_secret_key(None, key_file)
    assert str(key_file) in str(caught.value)
    assert key_file.read_bytes() == content, "the broken file is left for the operator"


def test_key_path_that_is_a_directory_is_an_error(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.mkdir()
    with pytest.raises(KeyFileError, match="not a regular file") as caught:
        load_secret_key(None, key_file)
    assert str(key_file) in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_key_file_is_an_error(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("secret")
    key_file.chmod(0)
    with pytest.raises(KeyFileError, match="cannot be opened"):
        load_secret_key(None, key_file)


def test_key_file_readable_by_others_logs_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("shared-key")
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="agented.secret_key"):
        assert load_secret_key(None, key_file) == "shared-key"
    assert any(
        "chmod 600" in r.getMessage() and str(key_file) in r.getMessage() for r in caplog.records
    )
    assert "shared-key" not in caplog.text


def test_create_app_uses_the_loader(tmp_path: Path) -> None:
    from agented import create_app

    key_file = tmp_path / "key"
    app = create_app(
        {"AGENTED_DB_PATH": tmp_path / "db"}, environ={"AGENTED_SECRET_KEY_FILE": str(key_file)}
    )
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    again = create_app(environ={"AGENTED_SECRET_KEY_FILE": str(key_file)})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    from_env = create_app(
        environ={"SECRET_KEY": "env-key", "AGENTED_SECRET_KEY_FILE": str(key_file)}
    )
    assert from_env.config["SECRET_KEY"] == "env-key"
