"""Persistence: one SQLite database, versioned migrations, one store per aggregate."""

from .database import Database, DatabaseError
from .migrations import MigrationError, migrate

__all__ = ["Database", "DatabaseError", "MigrationError", "migrate"]
