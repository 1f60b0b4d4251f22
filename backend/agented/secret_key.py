"""Three-tier keys (the secret key, the API key): environment, else key file, else a new one.

A key signs tokens, derives encryption keys or lets people in, so it must never
change by accident: an unreadable or empty key file is an error, not a reason to mint a
new key. A new key file is written under a temporary name with mode 0600 from
its first byte and hard-linked into place, so readers only ever see a complete
file and two processes starting together agree on one key (the loser of the
link race reads the winner's file).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

logger = logging.getLogger(__name__)

KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """The key file exists but cannot be used; the message names the file."""


def load_key(env_value: str | None, key_file: Path, label: str) -> str:
    """Return the key from `env_value`, else `key_file`, else a freshly persisted one."""
    if env_value:
        return env_value
    existing = read_key_file(key_file, label)
    if existing is not None:
        return existing
    _create_key_file(key_file, label)
    created = read_key_file(key_file, label)
    if created is None:
        raise KeyFileError(f"{label} file {key_file} vanished right after it was created")
    return created


def load_secret_key(env_value: str | None, key_file: Path) -> str:
    return load_key(env_value, key_file, "secret key")


def read_key_file(key_file: Path, label: str) -> str | None:
    """The stripped key in `key_file`, or None when the file does not exist."""
    try:
        fd = os.open(key_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as error:
        raise KeyFileError(f"{label} file {key_file} cannot be opened: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{label} file {key_file} is not a regular file")
        raw = os.read(fd, 1 << 16)
    except OSError as error:
        raise KeyFileError(f"{label} file {key_file} cannot be read: {error.strerror}") from None
    finally:
        os.close(fd)
    try:
        key = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise KeyFileError(f"{label} file {key_file} is not UTF-8 text") from None
    if not key:
        raise KeyFileError(
            f"{label} file {key_file} is empty; restore the key, "
            "or delete the file to generate a new one"
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "%s file %s is accessible by group or others (mode %o); run: chmod 600 %s",
            label,
            key_file,
            stat.S_IMODE(info.st_mode),
            key_file,
        )
    return key


def _create_key_file(key_file: Path, label: str) -> None:
    """Persist a new random key at `key_file` unless another process got there first."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write((secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, key_file)
            logger.info("generated a new %s in %s", label, key_file)
        _fsync_directory(key_file.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry durable, so a crash cannot lose the key we just used."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
