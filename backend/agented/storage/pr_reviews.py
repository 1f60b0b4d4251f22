"""PR review entries: one per pull-request event that fired a bot."""

from __future__ import annotations

from typing import Any

from ..models import ListedPullRequestReview, PullRequestReview, iso, new_id, utc_now
from .database import Connection, Database
from .rows import RowMapping, placeholders

_ROWS = RowMapping(PullRequestReview)
_LISTED = RowMapping(ListedPullRequestReview)

_SELECT = (
    "SELECT r.id, r.bot_id, b.name AS bot_name, r.execution_id,"
    " COALESCE(e.status, 'unknown') AS status, r.repo_full_name, r.pr_number, r.pr_title,"
    " r.pr_url, r.pr_author, r.action, r.head_sha, r.created_at"
    " FROM pr_reviews r LEFT JOIN executions e ON e.id = r.execution_id"
    " LEFT JOIN bots b ON b.id = r.bot_id"
)


class PullRequestReviewStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, fields: dict[str, Any]) -> None:
        row = _ROWS.to_row({"id": new_id("prr"), "created_at": iso(utc_now()), **fields})
        names = ", ".join(row)
        marks = placeholders(len(row))
        await self._db.write(
            lambda connection: connection.execute(
                f"INSERT INTO pr_reviews ({names}) VALUES ({marks})", tuple(row.values())
            )
        )

    async def list(
        self, *, repo: str | None, status: str | None, limit: int, offset: int
    ) -> list[ListedPullRequestReview]:
        conditions, parameters = [], []
        if repo is not None:
            conditions.append("lower(r.repo_full_name) = lower(?)")
            parameters.append(repo)
        if status is not None:
            conditions.append("COALESCE(e.status, 'unknown') = ?")
            parameters.append(status)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""

        def query(connection: Connection) -> list[ListedPullRequestReview]:
            rows = connection.execute(
                f"{_SELECT}{where} ORDER BY r.created_at DESC, r.rowid DESC LIMIT ? OFFSET ?",
                (*parameters, limit, offset),
            ).fetchall()
            return [_LISTED.from_row(row) for row in rows]

        return await self._db.read(query)
