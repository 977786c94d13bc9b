"""`openwatch.toml` -> `Config`: find the file, read it, substitute `${VAR}`, validate, explain.

Every problem is one `ConfigError` whose `str()` is one line,
`<file>:<line>: <key path>: <problem>; <fix>` (the line is left out when it cannot be found).
Key paths number array entries from 1, as people count: `watch[2]` is the second `[[watch]]`.
Secrets (webhook URLs, passwords, signing secrets) never appear in full in a message.

This package keeps the file: `loader` (finding it, `${VAR}`, the document), `reader` (the
typed reader each section's owner gets), `keylines` (where keys are, for error lines),
`durations`, `model` (`Config`) and `starter` (`openwatch init`). The sections are read by
their owners: sources (`crawler/sources/`), alerts (`alerts/config.py`, each channel's
`options`), the daemon (`jobs/daemon.py`), Scrapyd (`jobs/scrapyd.py`).
"""

from jobs.config.durations import DURATION_EXAMPLES, format_duration, parse_duration
from jobs.config.loader import (
    CONFIG_ENV,
    CONFIG_FILENAME,
    DEFAULT_ENDPOINTS,
    MIN_EVERY,
    TOP_KEYS,
    WATCH_KEYS,
    find_config_path,
    load_config,
)
from jobs.config.model import Config, Endpoints, Watch
from jobs.config.reader import redact
from jobs.config.starter import starter_config, write_starter

# seam: jobs/scrapyd.py reads these here; they moved to jobs.config.reader, jobs.filters and
# alerts.redaction (import them from there once [scrapyd] lives in the Scrapyd package)
from jobs.config.reader import key_path as _key_path, show as _show, type_name as _type_name  # noqa: E402,F401
from jobs.filters import did_you_mean as _did_you_mean  # noqa: E402,F401
from alerts.redaction import is_http_url as _is_http_url  # noqa: E402,F401

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FILENAME",
    "DEFAULT_ENDPOINTS",
    "DURATION_EXAMPLES",
    "MIN_EVERY",
    "TOP_KEYS",
    "WATCH_KEYS",
    "Config",
    "Endpoints",
    "Watch",
    "find_config_path",
    "format_duration",
    "load_config",
    "parse_duration",
    "redact",
    "starter_config",
    "write_starter",
]
