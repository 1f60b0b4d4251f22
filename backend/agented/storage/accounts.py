"""Accounts: unique by name ignoring case, at most one default per backend."""

from __future__ import annotations

from typing import Any

from ..errors import DuplicateAccountName
from ..models import Account, iso, new_id, utc_now
from .database import Connection, Database
from .rows import RowMapping, placeholders

_ROWS = RowMapping(Account)


def _to_row(values: dict[str, Any]) -> dict[str, Any]:
    row = _ROWS.to_row(values)
    if "name" in row:
        row["name_key"] = row["name"].casefold()
    return row


def _select(connection: Connection, account_id: str) -> Account | None:
    row = connection.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return None if row is None else _ROWS.from_row(row)


def _check_name_free(connection: Connection, name_key: str, own_id: str | None) -> None:
    clash = connection.execute(
        "SELECT name FROM accounts WHERE name_key = ? AND id IS DISTINCT FROM ?", (name_key, own_id)
    ).fetchone()
    if clash is not None:
        raise DuplicateAccountName(f"an account named {clash['name']!r} already exists")


def _keep_one_default(connection: Connection, account: dict[str, Any]) -> None:
    """A new default replaces its backend's former one, as choosing a radio button does.

    Called before the write: the unique index allows one default per backend.
    """
    if account["is_default"]:
        connection.execute(
            "UPDATE accounts SET is_default = 0 WHERE backend = ? AND id != ? AND is_default = 1",
            (account["backend"], account["id"]),
        )


class AccountStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def list(self) -> list[Account]:
        def query(connection: Connection) -> list[Account]:
            rows = connection.execute("SELECT * FROM accounts ORDER BY name_key").fetchall()
            return [_ROWS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def get(self, account_id: str) -> Account | None:
        return await self._db.read(lambda connection: _select(connection, account_id))

    async def default_for(self, backend: str) -> Account | None:
        def query(connection: Connection) -> Account | None:
            row = connection.execute(
                "SELECT * FROM accounts WHERE backend = ? AND is_default = 1", (backend,)
            ).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.read(query)

    async def create(self, values: dict[str, Any]) -> Account:
        now = iso(utc_now())
        row = _to_row({**values, "id": new_id("acc"), "created_at": now, "updated_at": now})

        def insert(connection: Connection) -> Account:
            _check_name_free(connection, row["name_key"], None)
            _keep_one_default(connection, row)
            connection.execute(
                f"INSERT INTO accounts ({', '.join(row)}) VALUES ({placeholders(len(row))})",
                tuple(row.values()),
            )
            created = _select(connection, row["id"])
            assert created is not None  # inserted just above, in this transaction
            return created

        return await self._db.write(insert)

    async def update(self, account_id: str, changes: dict[str, Any]) -> Account | None:
        """Apply `changes` (columns, as values); also how the limited state is set and cleared."""
        row = _to_row({**changes, "updated_at": iso(utc_now())})

        def apply(connection: Connection) -> Account | None:
            if "name_key" in row:
                _check_name_free(connection, row["name_key"], account_id)
            pending = _select(connection, account_id)
            if pending is None:
                return None
            _keep_one_default(connection, {**dict(pending), **changes})
            assignments = ", ".join(f"{name} = ?" for name in row)
            connection.execute(
                f"UPDATE accounts SET {assignments} WHERE id = ?", (*row.values(), account_id)
            )
            return _select(connection, account_id)

        return await self._db.write(apply)

    async def delete(self, account_id: str) -> bool:
        """Delete the account; the executions that ran on it keep no account (migration 7)."""

        def remove(connection: Connection) -> bool:
            removed = connection.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
            return removed.rowcount > 0

        return await self._db.write(remove)
