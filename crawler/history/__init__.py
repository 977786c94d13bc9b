"""History layer: turns items into rows, snapshots and events. Knows nothing of HTTP."""

import sys


def _import_sqlite_utils_without_numpy() -> None:
    """sqlite-utils imports numpy when it is installed (sqlite_utils/db.py), only to map numpy
    scalars to column types; openwatch stores none. numpy is here for the charts and costs
    ~100 ms of every start (bench/RESULTS.md, "after2"): sqlite-utils is imported with it
    hidden. A process that imported numpy already, or imports it later, is unaffected."""
    if "sqlite_utils" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        if sys.modules.get("numpy", 0) is None:
            del sys.modules["numpy"]


_import_sqlite_utils_without_numpy()
