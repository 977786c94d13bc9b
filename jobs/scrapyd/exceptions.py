"""Scrapyd's errors: `OpenwatchError` > `ScrapydError` (a server refused or is unreachable).

`ScrapydSettingError` (a problem in the `[scrapyd]` table) is a `ValueError` in
`jobs.scrapyd.settings`: the config loader turns it into its file:line form."""

from __future__ import annotations

from jobs.exceptions import OpenwatchError

MAX_ERROR = 300                 # characters of one error message


class ScrapydError(OpenwatchError):
    """A Scrapyd server refused a request or could not be reached (retryable: try again later)."""
