"""Importing sqlite_utils without pandas (done once, on import of this module, before the rest of core/db).

sqlite_utils imports pandas whenever it is installed, only to map pandas' Timestamp to a
column type; photoclip never stores pandas values. Where pandas (and pyarrow) are
installed that import costs about a second and ~100 MB in every process that opens a
library, a short `search` included. Hidden while sqlite_utils loads, pandas stays
importable afterwards for anyone who wants it.
"""

from __future__ import annotations

import sys


def import_sqlite_utils() -> None:
    if "sqlite_utils.db" in sys.modules or "pandas" in sys.modules:
        return
    sys.modules["pandas"] = None  # type: ignore[assignment]  # `import pandas` raises ImportError
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        del sys.modules["pandas"]


import_sqlite_utils()

from sqlite_utils import Migrations  # noqa: E402  (after the import above)

__all__ = ["Migrations"]
