"""A finished job, read back: how it ended (the end of its log) and its items (its JSON-lines feed)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx

from jobs.scrapyd.exceptions import MAX_ERROR

MAX_ITEM_BYTES = 16 * 1024 * 1024  # one JSON line (an item carries LICENSE texts of up to 1 MiB each)
LOG_TAIL_BYTES = 256 * 1024     # the end of a job's log holds its stats dump and close line


@dataclass
class JobLog:
    closed: bool = False                  # "Spider closed (…)" was logged
    finish_reason: str | None = None
    requests: int | None = None           # downloader/request_count
    items: int | None = None              # item_scraped_count
    last_error: str | None = None         # the last ERROR/CRITICAL line, or the traceback's last line


_CLOSED = re.compile(r"\[scrapy\.core\.engine\] INFO: Spider closed \(([^)]*)\)")
_STAT = re.compile(r"'(finish_reason|downloader/request_count|item_scraped_count)': ('?)([^',}\n]*)\2")
_ERROR_LINE = re.compile(r"^\S+ \S+ \[[^\]]+\] (?:ERROR|CRITICAL): (.*)$")


def parse_job_log(text: str) -> JobLog:
    """How a Scrapy crawl ended, from the end of its log (a pure function)."""
    log = JobLog()
    closed = _CLOSED.findall(text)
    if closed:
        log.closed = True
        log.finish_reason = closed[-1]
    dump = text.rfind("Dumping Scrapy stats:")
    if dump >= 0:
        for key, _, value in _STAT.findall(text[dump:]):
            if key == "finish_reason":
                log.finish_reason = value
            elif value.isdigit():
                setattr(log, "requests" if key == "downloader/request_count" else "items", int(value))
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _ERROR_LINE.match(line)
        if match:
            log.last_error = match.group(1)[:MAX_ERROR]
            break
    if log.last_error is None and not log.closed and lines:
        log.last_error = lines[-1].strip()[:MAX_ERROR]  # a traceback's last line says what raised
    return log


async def json_lines(response: httpx.Response, errors: list[str]):
    """Each JSON object of a JSON-lines body, in order. A line longer than MAX_ITEM_BYTES, or
    one that is not a JSON object, is skipped with an error; so is a last line without its
    newline that does not parse (a writer killed mid-line)."""
    buffer = bytearray()
    skipping = False
    line_no = 0

    def parse(raw: bytes, last: bool):
        try:
            value = json.loads(raw)
        except ValueError:
            errors.append(f"item line {line_no}: {'cut short (the writer died mid-line)' if last else 'not JSON'}")
            return None
        if not isinstance(value, dict):
            errors.append(f"item line {line_no}: not a JSON object")
            return None
        return value

    async for chunk in response.aiter_bytes():
        buffer += chunk
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > MAX_ITEM_BYTES:
                    if not skipping:
                        line_no += 1
                        errors.append(f"item line {line_no}: longer than {MAX_ITEM_BYTES} bytes, skipped")
                    skipping = True
                    buffer.clear()
                break
            raw = bytes(buffer[:end])
            del buffer[: end + 1]
            if skipping:
                skipping = False
                continue
            if not raw.strip():
                continue
            line_no += 1
            value = parse(raw, last=False)
            if value is not None:
                yield value
    if buffer.strip() and not skipping:
        line_no += 1
        value = parse(bytes(buffer), last=True)
        if value is not None:
            yield value


async def tail(http: httpx.AsyncClient, url: str) -> str:
    """The last LOG_TAIL_BYTES of a log. Asks for its size first: Twisted's static files
    answer a suffix Range longer than the file (`bytes=-N`) with a 500, not the whole file."""
    head = await http.head(url)
    head.raise_for_status()
    size = int(head.headers.get("Content-Length") or 0)
    headers = {"Range": f"bytes={size - LOG_TAIL_BYTES}-"} if size > LOG_TAIL_BYTES else {}
    data = bytearray()
    async with http.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > 2 * LOG_TAIL_BYTES:  # a server that ignored Range: keep the end only
                del data[:-LOG_TAIL_BYTES]
    return data[-LOG_TAIL_BYTES:].decode("utf-8", "replace")
