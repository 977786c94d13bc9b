"""Where keys are in a TOML text: line numbers for the config's error messages."""

from __future__ import annotations

import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_SCALAR = re.compile(r"[^,\]}\n#]*")


class KeyLines:
    """The line (from 1) where each table, key and array element of a TOML text starts.

    A second, approximate reading of a text tomllib has already accepted, only to put line
    numbers in errors. Paths are as the loader's: ("watch", 1, "orgs", 0) is the first org of
    the second [[watch]]. It gives up quietly (fewer lines known) on anything it does not follow.
    """

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.table: tuple = ()
        self.arrays: dict[tuple, int] = {}
        self.lines: dict[tuple, int] = {}
        try:
            self.scan()
        except (IndexError, ValueError):
            pass

    def find(self, at: tuple) -> int | None:
        """The line of `at`, else of its closest enclosing key or table, else None."""
        for size in range(len(at), 0, -1):
            if at[:size] in self.lines:
                return self.lines[at[:size]]
        return None

    def scan(self) -> None:
        while True:
            self.skip_blank()
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "[":
                self.header()
            else:
                self.key_value(self.table)
            self.skip_to_line_end()

    def header(self) -> None:
        line = self.line
        double = self.text.startswith("[[", self.pos)
        self.pos += 2 if double else 1
        raw = tuple(self.keys())
        if double:
            for nested in [k for k in self.arrays if len(k) > len(raw) and k[: len(raw)] == raw]:
                del self.arrays[nested]
            self.arrays[raw] = self.arrays.get(raw, -1) + 1
        path: list = []
        for size in range(1, len(raw) + 1):
            path.append(raw[size - 1])
            if raw[:size] in self.arrays:
                path.append(self.arrays[raw[:size]])
        self.table = tuple(path)
        self.lines.setdefault(self.table, line)
        if double:
            self.lines.setdefault(self.table[:-1], line)  # the array itself: its first table

    def key_value(self, table: tuple) -> None:
        line = self.line
        path = table + tuple(self.keys())
        self.lines.setdefault(path, line)
        self.skip_spaces()
        if self.text[self.pos] != "=":
            raise ValueError("not a key/value pair")
        self.pos += 1
        self.skip_spaces()
        self.value(path)

    def keys(self) -> list[str]:
        keys = []
        while True:
            self.skip_spaces()
            if self.text[self.pos] in "\"'":
                keys.append(self.string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise ValueError("not a key")
                keys.append(match.group())
                self.pos = match.end()
            self.skip_spaces()
            if self.text[self.pos] != ".":
                return keys
            self.pos += 1

    def value(self, path: tuple) -> None:
        char = self.text[self.pos]
        if char in "\"'":
            self.string()
        elif char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_blank()
                char = self.text[self.pos]
                if char == "]":
                    self.pos += 1
                    return
                if char == ",":
                    self.pos += 1
                    continue
                self.lines.setdefault(path + (index,), self.line)
                self.value(path + (index,))
                index += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.skip_blank()
                char = self.text[self.pos]
                if char == "}":
                    self.pos += 1
                    return
                if char == ",":
                    self.pos += 1
                    continue
                self.key_value(path)
        else:
            match = _TOML_SCALAR.match(self.text, self.pos)
            self.pos = match.end()

    def string(self) -> str:
        """Skip a string of any of TOML's four kinds; its text (escapes left as written)."""
        text = self.text
        quote = text[self.pos]
        start = self.pos
        if text.startswith(quote * 3, self.pos):
            end = self.pos + 3
            while not text.startswith(quote * 3, end):
                end += 2 if quote == '"' and text[end] == "\\" else 1
                if end >= len(text):
                    raise ValueError("unterminated string")
            while text.startswith(quote * 4, end):  # up to two quotes may end the content
                end += 1
            self.pos = end + 3
            body = text[start + 3 : end]
        else:
            end = self.pos + 1
            while text[end] != quote:
                end += 2 if quote == '"' and text[end] == "\\" else 1
            self.pos = end + 1
            body = text[start + 1 : end]
        self.line += text.count("\n", start, self.pos)
        return body

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def skip_blank(self) -> None:
        """Spaces, newlines and comments."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r":
                self.pos += 1
            elif char == "\n":
                self.pos += 1
                self.line += 1
            elif char == "#":
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline
            else:
                return

    def skip_to_line_end(self) -> None:
        newline = self.text.find("\n", self.pos)
        self.pos = len(self.text) if newline < 0 else newline

