"""Reading how long a server asks us to wait."""

from datetime import datetime, timezone

import pytest
from scrapy.http import Headers

from crawler.middlewares import retry_after_seconds

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("headers,expected", [
    ({"RateLimit": '"api";r=0;t=55'}, 55.0),
    ({"RateLimit": '"api";r=0;t=1', "Retry-After": "3"}, 3.0),
    ({"Retry-After": "Sun, 29 Nov 2026 12:00:10 GMT"}, 10.0),
    ({"Retry-After": "soon"}, None),
    ({"RateLimit": '"api";r=12'}, None),
    # A window with requests left does not explain the 429: its reset is no wait (was 299 s).
    ({"RateLimit": '"api";r=999998;t=299', "Retry-After": "1"}, 1.0),
    ({"RateLimit": '"api";r=5;t=120'}, None),
    ({}, None),
])
def test_retry_after_seconds(headers, expected):
    assert retry_after_seconds(Headers(headers), NOW) == expected
