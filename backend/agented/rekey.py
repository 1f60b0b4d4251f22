"""Re-encrypt stored secrets after SECRET_KEY changed: `python -m agented.rekey --old-key-file F`.

Run it with the server stopped, in the same environment as the server (it reads
the same .env, database and new key). Secrets that already open with the new
key are left as they are, so running it twice is harmless. Everything is
rewritten in one transaction: either all secrets move to the new key or none.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .config import ConfigError, Settings, load_dotenv_file, load_settings
from .secret_box import SecretBox, SecretDecryptionError
from .secret_key import KeyFileError, load_secret_key
from .server_lock import ServerLockError, take_server_lock
from .storage import Connection, Database, DatabaseError, open_database

# Every sealed secret: (table, column, what a row is called in an error).
SEALED_COLUMNS = (
    ("bots", "webhook_secret_sealed", "bot"),
    ("accounts", "secret_env_sealed", "account"),
)


async def rekey(database: Database, old_key: str, new_key: str) -> tuple[int, int]:
    """Move every sealed secret from `old_key` to `new_key`; (re-encrypted, already current)."""
    old, new = SecretBox(old_key), SecretBox(new_key)
    table_exists = database.dialect.table_exists

    def reseal(connection: Connection) -> tuple[int, int]:
        moved = current = 0
        for table, column, kind in SEALED_COLUMNS:
            if connection.execute(table_exists, (table,)).fetchone() is None:
                continue  # a database the server has not migrated
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
                        f"the secret of {kind} {name!r} opens with neither the old nor the new key"
                    ) from None
                connection.execute(
                    f"UPDATE {table} SET {column} = ? WHERE id = ?", (new.seal(plaintext), row_id)
                )
                moved += 1
        return moved, current

    return await database.write(reseal)


async def _rekey_configured(settings: Settings, old_key: str, new_key: str) -> tuple[int, int]:
    """Rekey the configured database, refused while a server holds it."""
    lock = await take_server_lock(settings)
    try:
        database = await open_database(settings)
        try:
            return await rekey(database, old_key, new_key)
        finally:
            await database.close()
    finally:
        await lock.release()


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
        moved, current = asyncio.run(_rekey_configured(settings, old_key, new_key))
    except (
        ConfigError,
        KeyFileError,
        ServerLockError,
        SecretDecryptionError,
        OSError,
        ValueError,
        *DatabaseError,  # type: ignore[misc]  # a tuple of exception classes, unpacked
    ) as error:
        print(f"agented rekey: {error}", file=sys.stderr)
        return 1
    print(f"agented rekey: re-encrypted {moved} secret(s); {current} already used the current key")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
