"""`openwatch.toml` -> `Config`: find the file, read it, substitute `${VAR}`, validate, explain.

Every problem is one `ConfigError` whose `str()` is one line,
`<file>:<line>: <key path>: <problem>; <fix>` (the line is left out when it cannot be found).
Key paths number array entries from 1, as people count: `watch[2]` is the second `[[watch]]`.
Secrets (webhook URLs, passwords, signing secrets) never appear in full in a message.

This package keeps the file: `loader` (finding it, `${VAR}`, the document), `reader` (the
typed reader each section's owner gets), `keylines` (where keys are, for error lines),
`durations`, `model` (`Config`) and `starter` (`openwatch init`); `load_config` and
`find_config_path` are `loader`'s (imported from there: the loader imports the sections'
owners, which import the leaf modules re-exported here). The sections are read by
their owners: sources (`crawler/sources/`), alerts (`alerts/config.py`, each channel's
`options`), the daemon (`jobs/daemon.py`), Scrapyd (`jobs/scrapyd/settings.py`).
"""

from jobs.config.durations import DURATION_EXAMPLES, format_duration, parse_duration
from jobs.config.model import Config, Endpoints, Watch
from jobs.config.reader import redact
from jobs.config.starter import starter_config, write_starter

__all__ = [
    "DURATION_EXAMPLES",
    "Config",
    "Endpoints",
    "Watch",
    "format_duration",
    "parse_duration",
    "redact",
    "starter_config",
    "write_starter",
]
