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

# Every sealed secret: (table, column, what a row is called in an error).
SEALED_COLUMNS = (
    ("bots", "webhook_secret_sealed", "bot"),
    ("accounts", "secret_env_sealed", "account"),
)


def _has_table(connection: sqlite3.Connection, table: str) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def rekey(database: Path, old_key: str, new_key: str) -> tuple[int, int]:
    """Move every sealed secret from `old_key` to `new_key`; (re-encrypted, already current)."""
    old, new = SecretBox(old_key), SecretBox(new_key)
    moved = current = 0
    with sqlite3.connect(database, isolation_level=None) as connection:
        connection.execute("BEGIN IMMEDIATE")
        try:
            for table, column, kind in SEALED_COLUMNS:
                if not _has_table(connection, table):  # a database the server has not migrated
                    continue
                rows = connection.execute(
                    f"SELECT id, name, {column} FROM {table} WHERE {column} IS NOT NULL"
                ).fetchall()
                for row_id, name, sealed in rows:
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
                            f"the secret of {kind} {name!r} opens with neither the old nor the "
                            "new key"
                        ) from None
                    connection.execute(
                        f"UPDATE {table} SET {column} = ? WHERE id = ?",
                        (new.seal(plaintext), row_id),
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
