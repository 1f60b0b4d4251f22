"""Persistence: one database (SQLite or PostgreSQL), numbered migrations per engine, one
store per aggregate."""

from .database import Connection, Database, DatabaseError
from .engines import open_database
from .migrations import MigrationError, migrate

__all__ = ["Connection", "Database", "DatabaseError", "MigrationError", "migrate", "open_database"]
