"""Writing a view to disk: atomically, so a reader (a web server, a feed reader) never sees half
a page or half a feed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jobs.exceptions import OutputUnwritable


def atomic_write(path: str | os.PathLike, content: bytes, *, mode: int = 0o644) -> None:
    """Write `content` to `path` so that a reader sees the old file or the new one, never half:
    a temporary file in the same directory, flushed to disk, then renamed over `path`."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # named by the file asked for, not by the temporary one
        raise OutputUnwritable(path, exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; a published feed is read by a web server
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
