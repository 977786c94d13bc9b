"""openwatch's Datasette plugin (loaded by `openwatch serve`): LICENSE texts are stored
zlib-compressed (`license_texts.text_zlib`); this shows them as text, and gives SQL a
`zlib_text(blob)` function so canned queries and the JSON API can return them as text too.
Both work on a read-only connection (no view has to be written into the database)."""

from __future__ import annotations

import zlib

from datasette import hookimpl
from markupsafe import Markup

MAX_TEXT_BYTES = 1 << 20  # a LICENSE is kilobytes; a compressed bomb is cut here
SHOWN_CHARS = 20_000


def zlib_text(blob) -> str | None:
    """The text of a zlib blob (UTF-8, undecodable bytes replaced), at most 1 MiB of it."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        return None
    try:
        raw = zlib.decompressobj().decompress(bytes(blob), MAX_TEXT_BYTES)
    except zlib.error:
        return None
    return raw.decode("utf-8", errors="replace")


@hookimpl
def prepare_connection(conn):
    conn.create_function("zlib_text", 1, zlib_text, deterministic=True)


@hookimpl
def render_cell(value, column, table):
    if column != "text_zlib" or table != "license_texts" or not isinstance(value, bytes):
        return None
    text = zlib_text(value)
    if text is None:
        return None
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "\n…"
    # scraped text: Markup.format escapes it
    return Markup('<pre style="white-space: pre-wrap; max-height: 24em; overflow: auto; margin: 0">{}</pre>').format(
        text)
