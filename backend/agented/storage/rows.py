"""Conversions between SQLite rows and records, derived from the records' models.

A record's columns are its model's fields: lists and dicts are stored as JSON
text and booleans as 0/1, read off each field's type, so adding a field to a
model (and a column in a migration) is all a store needs.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .database import Row

RecordT = TypeVar("RecordT", bound=BaseModel)


def to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _kinds(annotation: Any) -> set[Any]:
    """The plain types a field's annotation can hold (`list[str] | None` → {list, None})."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(arg) for arg in typing.get_args(annotation)))
    return {origin or annotation}


class RowMapping(Generic[RecordT]):
    """The columns of one record type and how its values are stored."""

    def __init__(self, model: type[RecordT]) -> None:
        self.model = model
        self.columns = tuple(model.model_fields)
        kinds = {name: _kinds(info.annotation) for name, info in model.model_fields.items()}
        self._json = frozenset(name for name, kind in kinds.items() if kind & {list, dict})
        self._bool = frozenset(name for name, kind in kinds.items() if bool in kind)

    def to_row(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Column values for `values` (a subset of the fields, as Python values)."""
        unknown = set(values) - set(self.columns)
        if unknown:  # column names are interpolated into SQL: only ever our own
            raise ValueError(f"not {self.model.__name__} columns: {sorted(unknown)}")
        row = {}
        for name, value in values.items():
            if name in self._json:
                value = to_json(value)
            elif name in self._bool and value is not None:
                value = int(value)
            row[name] = value
        return row

    def from_row(self, row: Row | Mapping[str, Any]) -> RecordT:
        """The record stored in `row`; columns that are not fields are ignored."""
        values = {}
        for name in self.columns:
            value = row[name]
            if name in self._json:
                value = from_json(value)
            elif name in self._bool:
                value = bool(value)
            values[name] = value
        return self.model.model_construct(**values)
