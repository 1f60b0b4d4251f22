"""Re-encrypt stored secrets after SECRET_KEY changed: `python -m agented.rekey --old-key-file F`.

Run it with the server stopped, in the same environment as the server (it reads
the same .env, database and new key). Secrets that already open with the new
key are left as they are, so running it twice is harmless. Everything is
rewritten in one transaction: either all secrets move to the new key or none.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from .config import ConfigError, load_dotenv_file, load_settings
from .secret_box import SecretBox, SecretDecryptionError
from .secret_key import KeyFileError, load_secret_key
from .server_lock import ServerLock, ServerLockError


def rekey(database: Path, old_key: str, new_key: str) -> tuple[int, int]:
    """Move every sealed secret from `old_key` to `new_key`; (re-encrypted, already current)."""
    old, new = SecretBox(old_key), SecretBox(new_key)
    moved = current = 0
    with sqlite3.connect(database, isolation_level=None) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            rows = connection.execute(
                "SELECT id, name, webhook_secret_sealed FROM bots"
                " WHERE webhook_secret_sealed IS NOT NULL"
            ).fetchall()
            for bot_id, name, sealed in rows:
                try:
                    new.open(sealed)
                    current += 1
                    continue
                except SecretDecryptionError:
                    pass
                try:
                    plaintext = old.open(sealed)
                except SecretDecryptionError:
                    raise SecretDecryptionError(
                        f"the secret of bot {name!r} opens with neither the old nor the new key"
                    ) from None
                connection.execute(
                    "UPDATE bots SET webhook_secret_sealed = ? WHERE id = ?",
                    (new.seal(plaintext), bot_id),
                )
                moved += 1
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    return moved, current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agented.rekey", description=__doc__)
    parser.add_argument(
        "--old-key-file",
        type=Path,
        required=True,
        help="a file holding the previous SECRET_KEY (a file keeps it out of `ps` and history)",
    )
    arguments = parser.parse_args(argv)
    environ = load_dotenv_file()
    try:
        settings = load_settings(environ)
        new_key = load_secret_key(settings.secret_key, settings.secret_key_file)
        old_key = arguments.old_key_file.read_text(encoding="utf-8").strip()
        if not old_key:
            raise ValueError(f"{arguments.old_key_file} is empty")
        lock = ServerLock(settings.db_path)
        lock.acquire()
        try:
            moved, current = rekey(settings.db_path, old_key, new_key)
        finally:
            lock.release()
    except (
        ConfigError,
        KeyFileError,
        ServerLockError,
        SecretDecryptionError,
        OSError,
        ValueError,
    ) as error:
        print(f"agented rekey: {error}", file=sys.stderr)
        return 1
    print(f"agented rekey: re-encrypted {moved} secret(s); {current} already used the current key")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
