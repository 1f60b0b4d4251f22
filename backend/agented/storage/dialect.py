"""The few SQL spellings SQLite and PostgreSQL do not share, declared once per engine.

The stores write one SQL text for both engines: standard SQL, `?` placeholders
(PostgreSQL's connection translates them), `IS DISTINCT FROM`, `ON CONFLICT`,
`RETURNING`, `COUNT(*) FILTER (WHERE ...)`. What has no common spelling — reading
a number out of a JSON column, a timestamp as Unix time, substring search,
case-insensitive LIKE — comes from the database's
`Dialect`, so each difference is written here once instead of in every query.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    """SQL fragments for one engine; `name` also names its migrations directory."""

    name: str
    # Case-insensitive LIKE: SQLite's LIKE already ignores (ASCII) case, PostgreSQL's does not.
    like_ignoring_case: str
    # One row when the table named by the parameter exists, none when not.
    table_exists: str
    # Templates behind the methods below ({column}, {key}, {haystack}, {needle}).
    _json_number: str
    _unix_seconds: str
    _contains: str

    def json_number(self, column: str, key: str) -> str:
        """The number at `key` of the JSON object in text `column`, NULL when absent."""
        return self._json_number.format(column=column, key=key)

    def unix_seconds(self, column: str) -> str:
        """The ISO-8601 text timestamp in `column` as whole Unix seconds (rounded down)."""
        return self._unix_seconds.format(column=column)

    def contains(self, haystack: str, needle: str = "?") -> str:
        """A condition: text `needle` occurs in `haystack` (case as given)."""
        return self._contains.format(haystack=haystack, needle=needle)


SQLITE = Dialect(
    name="sqlite",
    like_ignoring_case="LIKE",
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    _json_number="json_extract({column}, '$.{key}')",
    _unix_seconds="CAST(strftime('%s', {column}) AS INTEGER)",
    _contains="instr({haystack}, {needle}) > 0",
)
POSTGRES = Dialect(
    name="postgres",
    like_ignoring_case="ILIKE",
    table_exists="SELECT 1 FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_name = ?",
    # numeric, not double: token counts stay integers (the connection reads numeric as
    # int when whole), costs keep their decimals.
    _json_number="(CAST({column} AS jsonb) ->> '{key}')::numeric",
    _unix_seconds="CAST(FLOOR(EXTRACT(EPOCH FROM CAST({column} AS timestamptz))) AS BIGINT)",
    _contains="strpos({haystack}, {needle}) > 0",
)
