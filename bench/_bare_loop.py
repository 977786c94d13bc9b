"""The reference a crawl is measured against: download each URL and `json.loads` it, in order.

    python bench/_bare_loop.py urls.json      # prints one JSON line: seconds, pages, models, bytes

One keep-alive httpx client, one request at a time, the spider's Accept header. The clock runs
from the first request to the last page parsed (interpreter start and imports excluded, as a
crawl's duration in `crawls` excludes the process start).
"""

from __future__ import annotations

import json
import sys
import time

import httpx


def main(path: str) -> int:
    urls = json.loads(open(path, encoding="utf-8").read())
    headers = {"Accept": "application/json", "User-Agent": "openwatch-bench bare loop"}
    models = size = 0
    with httpx.Client(timeout=60.0, trust_env=False, headers=headers) as client:
        started = time.perf_counter()
        for url in urls:
            response = client.get(url)
            response.raise_for_status()
            page = json.loads(response.content)
            models += len(page)
            size += len(response.content)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "pages": len(urls), "models": models, "bytes": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
