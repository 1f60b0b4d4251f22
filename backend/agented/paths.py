"""Well-known locations inside a checkout, resolved from the package itself.

Defaults are anchored here rather than on the working directory so that the
server finds the same key file and database whichever directory it starts in.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BACKEND_DIR = PACKAGE_DIR.parent
REPO_DIR = BACKEND_DIR.parent
MIGRATIONS_ROOT = PACKAGE_DIR / "storage" / "migrations"


def migrations_dir(engine: str) -> Path:
    """The numbered migrations of one engine (a `Dialect.name`: sqlite, postgres)."""
    return MIGRATIONS_ROOT / engine
