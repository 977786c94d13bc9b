"""Errors of the `jobs` package (configuration, scheduling, the CLI).

None of these is retryable: each means the operator has to change something. The CLI prints
`str(error)` as its one line and exits with code 2 (usage and configuration errors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from crawler.exceptions import OpenwatchError  # the one root, re-exported here




class ConfigError(OpenwatchError):
    """The configuration file is missing or invalid: `<file>:<line>: <key>: <problem>; <fix>`."""

    def __init__(
        self,
        problem: str,
        fix: str | None = None,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ):
        self.problem = problem
        self.fix = fix
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The one line the CLI prints; any part that is unknown is left out."""
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        if self.key:
            parts.append(self.key)
        parts.append(self.problem)
        text = ": ".join(parts)
        if self.fix:
            text = f"{text}; {self.fix}"
        return re.sub(r"\s*[\r\n]+\s*", " ", text)

    def __str__(self) -> str:
        return self.message


class UnknownNameError(ConfigError, KeyError):
    """A watch or subscription name that the configuration does not define."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind = kind
        self.name = name
        self.known = tuple(known)
        super().__init__(
            f"unknown {kind} {json.dumps(name)}",
            f"known: {', '.join(self.known)}" if self.known else f"the configuration has no {kind}",
        )


class OutputUnwritable(OpenwatchError, OSError):
    """A file a command was asked to write (`feed -o`, `report -o`, `feed_path`) cannot be written there
    (exit 1); an OSError too, as the daemon's feed writer expects."""

    def __init__(self, path, exc: OSError):
        problem = "its folder does not exist" if isinstance(exc, FileNotFoundError) else (
            "its folder is not writable" if isinstance(exc, PermissionError) else exc.strerror or str(exc))
        super().__init__(f"{path}: cannot be written: {problem}; choose a path in an existing, writable folder")
