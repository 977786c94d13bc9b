"""`openwatch.toml` -> `Config`: every error as its exact line, the defaults, `openwatch init`."""

from __future__ import annotations

import os
import re
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from crawler.events import DEFAULT_SUBSCRIBED, EVENT_TYPES
from crawler.orgs import OrgTable, default_orgs
from alerts.digest import Digest
from jobs.config import Config, format_duration, parse_duration, redact, starter_config, write_starter
from jobs.config.loader import find_config_path, load_config
from jobs.exceptions import ConfigError, OpenwatchError, UnknownNameError

REGISTRY = OrgTable.from_rows(
    [
        {"hf_org": "meta-llama", "country": "US"},
        {"hf_org": "allenai", "country": "US"},
        {"hf_org": "deepseek-ai", "country": "CN"},
        {"hf_org": "Qwen", "country": "CN", "github_owners": "QwenLM"},
    ]
)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"

WATCH = """\
[[watch]]
name = "labs"
source = "huggingface"
orgs = ["meta-llama"]
every = "30m"
"""


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    """No HF_*, GITHUB_*, SLACK_*, SMTP_*, OPENWATCH_* from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("HF_", "GITHUB_", "SLACK_", "SMTP_", "OPENWATCH_")):
            monkeypatch.delenv(name)


def write(folder: Path, text: str, name: str = "openwatch.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(folder: Path, text: str, environ: dict | None = None) -> Config:
    return load_config(write(folder, text), environ=environ or {}, registry=REGISTRY)


# --------------------------------------------------------------------------------------------
# Errors: (file text, environment, the exact line with {file} for the path)

ERRORS = [
    pytest.param(
        'databse = "x.db"\n',
        {},
        '{file}:1: databse: unknown key; did you mean "database"?',
        id="unknown-top-level-key",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "huggingface"\norgs = ["meta-llama"]\nevry = "30m"\n',
        {},
        '{file}:5: watch[1].evry: unknown key; did you mean "every"?',
        id="unknown-key-suggestion",
    ),
    pytest.param(
        WATCH + '\n[[watch]]\nname = "more"\nsource = "huggingface"\norgs = ["allenai"]\nevery = "1h"\ncolour = "red"\n',
        {},
        "{file}:12: watch[2].colour: unknown key; valid keys: name, source, every, timeout, request_timeout, jitter, "
        "enabled, failing_after, orgs, search, filter, reconcile_every",
        id="unknown-key-second-watch",
    ),
    pytest.param(
        "[endpoints]\nhugginface = \"https://hf.example\"\n",
        {},
        '{file}:2: endpoints.hugginface: unknown key; did you mean "huggingface"?',
        id="unknown-key-endpoints",
    ),
    pytest.param(
        WATCH + 'repos = ["openai/gpt-oss"]\n',
        {},
        '{file}:6: watch[1].repos: is not used by huggingface watches; huggingface watches take orgs, search, filter, reconcile_every; '
        'remove it, or set source = "github"',
        id="key-of-another-source",
    ),
    pytest.param(
        WATCH + 'enabled = "yes"\n',
        {},
        '{file}:6: watch[1].enabled: expected a boolean, got a string ("yes"); write enabled = true (or false)',
        id="wrong-type-bool",
    ),
    pytest.param(
        '[smtp]\nhost = "localhost"\nport = "25"\nsender = "ow@example.org"\n',
        {},
        '{file}:3: smtp.port: expected an integer, got a string ("25"); write port = 25',
        id="wrong-type-int",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "huggingface"\norgs = "meta-llama"\nevery = "30m"\n',
        {},
        '{file}:4: watch[1].orgs: expected an array, got a string ("meta-llama"); write orgs = ["meta-llama"]',
        id="wrong-type-list",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "huggingface"\norgs = ["meta-llama", 7]\nevery = "30m"\n',
        {},
        '{file}:4: watch[1].orgs[2]: expected a string, got an integer (7); write orgs = ["meta-llama", "registry:CN"]',
        id="wrong-type-list-item",
    ),
    pytest.param(
        '[watch]\nname = "labs"\n',
        {},
        "{file}:1: watch: is a single table ([watch]); write [[watch]] (double brackets) before each watch",
        id="single-brackets",
    ),
    pytest.param(
        '[[smtp]]\nhost = "localhost"\n',
        {},
        "{file}:1: smtp: is a list of tables ([[smtp]]); write [smtp] (single brackets) once",
        id="double-brackets",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "hugginface"\n',
        {},
        '{file}:3: watch[1].source: "hugginface" is not a source; did you mean "huggingface"?',
        id="unknown-source-close",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "s3"\n',
        {},
        '{file}:3: watch[1].source: "s3" is not a source; sources: huggingface, modelscope, github, arxiv, hf_papers, feed',
        id="unknown-source",
    ),
    pytest.param(
        '# my watches\n\n[[watch]]\nname = "labs"\norgs = ["meta-llama"]\n',
        {},
        '{file}:3: watch[1]: "source" is missing; add source = "huggingface" to this [[watch]]',
        id="missing-key",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "github"\nevery = "1h"\n',
        {},
        '{file}:1: watch[1]: "repos" is missing; add repos = ["openai/gpt-oss"] (or orgs = ["openai"]) to this [[watch]]',
        id="missing-source-key",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "github"\nrepos = ["openai"]\nevery = "1h"\n',
        {},
        '{file}:4: watch[1].repos[1]: "openai" is not a GitHub repository; write "owner/repo", e.g. "openai/gpt-oss"',
        id="bad-repo",
    ),
    pytest.param(
        WATCH.replace('"30m"', '"30x"'),
        {},
        '{file}:5: watch[1].every: "30x" is not a duration; use a number and a unit, e.g. "30m", "6h", "1d"',
        id="bad-duration",
    ),
    pytest.param(
        WATCH.replace('"30m"', "30"),
        {},
        '{file}:5: watch[1].every: 30 is not a duration; use a number and a unit, e.g. "30m", "6h", "1d" '
        '(a string: every = "30m")',
        id="duration-not-a-string",
    ),
    pytest.param(
        WATCH.replace('"30m"', '"30s"'),
        {},
        '{file}:5: watch[1].every: "30s" is shorter than the minimum of 1m; use "1m" or more '
        "(OPENWATCH_ALLOW_SHORT_INTERVALS=1 lifts this, for tests)",
        id="interval-too-short",
    ),
    pytest.param(
        WATCH + 'jitter = "2h"\n',
        {},
        '{file}:6: watch[1].jitter: "2h" is longer than every (30m); use a jitter shorter than every, or "0s" for none',
        id="jitter-longer-than-every",
    ),
    pytest.param(
        WATCH + "failing_after = 0\n",
        {},
        "{file}:6: watch[1].failing_after: 0 is out of range; use an integer 1 or more",
        id="out-of-range",
    ),
    pytest.param(
        '[[watch]]\nname = "My Labs"\n',
        {},
        '{file}:2: watch[1].name: "My Labs" is not a valid watch name; use lower-case letters, digits, '
        '"-" and "_", starting with a letter or digit, e.g. "my-labs"',
        id="bad-name",
    ),
    pytest.param(
        WATCH + "\n" + WATCH,
        {},
        '{file}:8: watch[2].name: "labs" is already the name of watch[1]; give each watch a unique name',
        id="duplicate-watch",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "${SLACK_URL}"\n'
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "${SLACK_URL}"\n',
        {"SLACK_URL": SLACK_URL},
        '{file}:6: subscription[2].name: "team" is already the name of subscription[1]; '
        "give each subscription a unique name",
        id="duplicate-subscription",
    ),
    pytest.param(
        '[[watch]]\nname = "labs"\nsource = "huggingface"\norgs = [\n  "meta-llama",\n  "registry:XX",\n]\n',
        {},
        '{file}:6: watch[1].orgs[2]: "registry:XX" names no country of the registry; '
        "use one of registry:CN, registry:US or registry:all",
        id="unknown-registry-country",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "${SLACK_WEBHOOK_URL}"\n',
        {},
        "{file}:4: subscription[1].url: environment variable SLACK_WEBHOOK_URL is not set; "
        "set SLACK_WEBHOOK_URL in openwatch's environment (secrets live there, not in the file)",
        id="missing-env-var",
    ),
    pytest.param(
        'database = "${DB"\n',
        {},
        '{file}:1: database: "${DB" is not a variable reference; write ${NAME} (letters, digits, "_"), '
        'or $${ for a literal "${"',
        id="bad-env-reference",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slak"\n',
        {},
        '{file}:3: subscription[1].channel: "slak" is not a channel; did you mean "slack"?',
        id="unknown-channel-close",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "sms"\n',
        {},
        '{file}:3: subscription[1].channel: "sms" is not a channel; channels: slack, email, webhook, apprise',
        id="unknown-channel",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\nto = ["a@b.c"]\n',
        {},
        '{file}:5: subscription[1].to: is not used by slack subscriptions; slack subscriptions take url; '
        'remove it, or set channel = "email"',
        id="key-of-another-channel",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "hooks.slack.com/services/T000/B000/XXXX"\n',
        {},
        "{file}:4: subscription[1].url: … is not an http(s) URL; write the full URL, starting with https://",
        id="slack-url-not-http",
    ),
    pytest.param(
        '[[subscription]]\nname = "me"\nchannel = "email"\nto = ["me@example.org"]\n',
        {},
        '{file}:3: subscription[1].channel: email subscriptions need an [smtp] table; '
        'add [smtp] with host and sender, e.g. host = "localhost"',
        id="email-without-smtp",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'events = [\n  "model.added",\n  "model.licence_changed",\n]\n',
        {},
        '{file}:7: subscription[1].events[2]: "model.licence_changed" is not an event type; '
        'did you mean "model.license_changed"?',
        id="unknown-event-type",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\nevents = []\n',
        {},
        '{file}:5: subscription[1].events: is empty; list at least one, e.g. events = ["model.added", '
        '"model.removed"], or remove the key',
        id="empty-filter",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'categories = ["open"]\n',
        {},
        '{file}:5: subscription[1].categories[1]: "open" is not a licence category; categories: permissive, '
        "copyleft, open-weight-restricted, non-commercial, research-only, unknown",
        id="unknown-category",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'countries = ["USA"]\n',
        {},
        '{file}:5: subscription[1].countries[1]: "USA" is not a country code; use ISO 3166 alpha-2 codes, '
        'e.g. "US", "CN", "FR"',
        id="bad-country",
    ),
    pytest.param(
        WATCH + '\n[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'watches = ["lab"]\n',
        {},
        '{file}:11: subscription[1].watches[1]: "lab" is not a watch of this file; did you mean "labs"?',
        id="unknown-watch",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'models = ["DeepSeek-V3"]\n',
        {},
        '{file}:5: subscription[1].models[1]: "DeepSeek-V3" is neither a model id nor an item key; '
        'write "owner/name" for a Hugging Face model, or a key such as "repo:github/owner/repo"',
        id="bad-model",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'digest = "daily 9am"\n',
        {},
        '{file}:5: subscription[1].digest: "daily 9am" is not a digest schedule; use "hourly", '
        '"daily HH:MM" or "weekly MON HH:MM", e.g. "daily 09:00"',
        id="bad-digest",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'digest = "weekly FUN 09:00"\n',
        {},
        '{file}:5: subscription[1].digest: "weekly FUN 09:00" is not a digest schedule; use "hourly", '
        '"daily HH:MM" or "weekly MON HH:MM", e.g. "daily 09:00"',
        id="bad-digest-weekday",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'digest = "daily 24:00"\n',
        {},
        '{file}:5: subscription[1].digest: "daily 24:00" is not a digest schedule; use "hourly", '
        '"daily HH:MM" or "weekly MON HH:MM", e.g. "daily 09:00"',
        id="bad-digest-time",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'digest = "daily 09:00"\ntimezone = "Europe/Pari"\n',
        {},
        '{file}:6: subscription[1].timezone: "Europe/Pari" is not a time zone; did you mean "Europe/Paris"?',
        id="bad-timezone-close",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'digest = "daily 09:00"\ntimezone = "Nowhere/Special"\n',
        {},
        '{file}:6: subscription[1].timezone: "Nowhere/Special" is not a time zone; '
        'use an IANA name such as "Europe/Paris" or "UTC"',
        id="bad-timezone",
    ),
    pytest.param(
        '[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
        'timezone = "Europe/Paris"\n',
        {},
        '{file}:5: subscription[1].timezone: is set but digest is not; add digest = "daily 09:00", or remove timezone',
        id="timezone-without-digest",
    ),
    pytest.param(
        '[[subscription]]\nname = "hook"\nchannel = "webhook"\nurl = "https://example.org/hook"\n'
        'secret = "${WEBHOOK_SECRET}"\n',
        {"WEBHOOK_SECRET": "s3cr3t-value"},
        '{file}:5: subscription[1].secret: … does not start with "whsec_"; use "whsec_" followed by '
        "base64, e.g. the output of python -c \"import base64, os; print('whsec_' + "
        'base64.b64encode(os.urandom(32)).decode())"',
        id="webhook-secret-prefix",
    ),
    pytest.param(
        '[[subscription]]\nname = "hook"\nchannel = "webhook"\nurl = "https://example.org/hook"\n'
        'secret = "whsec_not*base64!"\n',
        {},
        '{file}:5: subscription[1].secret: whsec_… is not base64 after its prefix; use "whsec_" '
        "followed by base64, e.g. the output of python -c \"import base64, os; print('whsec_' + "
        'base64.b64encode(os.urandom(32)).decode())"',
        id="webhook-secret-base64",
    ),
    pytest.param(
        '[smtp]\nhost = "localhost"\nsender = "ow@example.org"\nssl = true\nstarttls = true\n',
        {},
        "{file}:5: smtp.starttls: starttls and ssl are both true; choose one: ssl = true for implicit TLS "
        "(port 465), starttls = true for port 587",
        id="smtp-tls-conflict",
    ),
    pytest.param(
        '[endpoints]\ngithub = "ftp://mirror.example"\n',
        {},
        '{file}:2: endpoints.github: "ftp://mirror.example" is not an http(s) URL; '
        'use a URL such as "https://github.com"',
        id="endpoint-not-http",
    ),
    pytest.param(
        "[endpoints]\n",
        {"HF_ENDPOINT": "localhost:8080"},
        '{file}: endpoints.huggingface: HF_ENDPOINT "localhost:8080" (from the environment) is not an '
        "http(s) URL; set HF_ENDPOINT to a URL such as https://huggingface.co, or unset it",
        id="hf-endpoint-env-not-http",
    ),
    pytest.param(
        '[daemon]\nlog_format = "xml"\n',
        {},
        '{file}:2: daemon.log_format: "xml" is not a log format; log formats: text, json',
        id="daemon-log-format",
    ),
    pytest.param(
        WATCH.replace('"30m"', "30m"),
        {},
        "{file}:5: invalid TOML: expected newline or end of document after a statement (column 11); "
        'quote strings and durations, e.g. every = "30m"',
        id="toml-syntax",
    ),
    pytest.param(
        '[daemon]\nlog_format = "text"\n\n[daemon]\n',
        {},
        "{file}:4: invalid TOML: cannot declare [daemon] twice (column 8); declare each [table] once; "
        "write [[name]] for a list of tables",
        id="toml-table-twice",
    ),
    pytest.param(
        'database = "x.db\n',
        {},
        "{file}:1: invalid TOML: illegal character '\\n' (column 17); close the string with the quote it opens with",
        id="toml-unterminated-string",
    ),
]


@pytest.mark.parametrize(("text", "environ", "expected"), ERRORS)
def test_error_is_one_exact_line(tmp_path, text, environ, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ, registry=REGISTRY)
    assert str(caught.value) == expected.replace("{file}", str(path))
    assert "\n" not in str(caught.value)


def test_errors_never_show_secrets(tmp_path):
    cases = [
        ('url = "hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"', "XXXXSECRETXXXX"),
        ('url = "${URL}"\nsecret = "${SECRET}"', "MfKQ9r8G"),
    ]
    environ = {"URL": "https://example.org/hook/TOKEN", "SECRET": SECRET[:-2] + "!!"}
    for body, secret in cases:
        channel = "webhook" if "secret" in body else "slack"
        path = write(tmp_path, f'[[subscription]]\nname = "x"\nchannel = "{channel}"\n{body}\n')
        with pytest.raises(ConfigError) as caught:
            load_config(path, environ=environ, registry=REGISTRY)
        assert secret not in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "openwatch.toml", environ={})
    assert str(caught.value) == (
        f'{tmp_path / "openwatch.toml"}: not found; run "openwatch init" to write a starter config '
        "or pass --config PATH"
    )


def test_missing_file_shows_the_path_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r'^openwatch\.toml: not found; run "openwatch init"'):
        load_config(find_config_path(None, {}), environ={})


def test_config_error_is_an_openwatch_error():
    error = ConfigError("is empty", "write it", file="f.toml", line=3, key="watch[1].name")
    assert isinstance(error, OpenwatchError)
    assert (error.file, error.line, error.key) == ("f.toml", 3, "watch[1].name")
    assert str(error) == "f.toml:3: watch[1].name: is empty; write it"


# --------------------------------------------------------------------------------------------
# Line numbers in less common shapes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '[[watch]]\nname = "labs"\nsource = "huggingface"\nquery = """\n[[watch]]\nsource = 1\n"""\n'
            'orgs = ["meta-llama"]\nevery = "1h"\n',
            '{file}:4: watch[1].query: is not used by huggingface watches; huggingface watches take orgs, search, filter, reconcile_every; '
            'remove it, or set source = "arxiv"',
            id="multi-line-string-hides-headers",
        ),
        pytest.param(
            '# [[watch]]\n# name = "x"\n[[watch]] # the labs\nname = "labs"\n"source" = "huggingface"\n'
            'orgs = ["meta-llama"]\nevery = "1h"\nenabled = 1\n',
            "{file}:8: watch[1].enabled: expected a boolean, got an integer (1); write enabled = true (or false)",
            id="comments-and-quoted-keys",
        ),
        pytest.param(
            'watch = [\n  { name = "labs", source = "huggingface", orgs = ["meta-llama"], every = "1h" },\n'
            '  { name = "more", source = "huggingface", orgs = ["allenai"], every = "1x" },\n]\n',
            '{file}:3: watch[2].every: "1x" is not a duration; use a number and a unit, e.g. "30m", "6h", "1d"',
            id="inline-tables",
        ),
        pytest.param(
            'daemon.log_format = "xml"\n',
            '{file}:1: daemon.log_format: "xml" is not a log format; log formats: text, json',
            id="dotted-key",
        ),
    ],
)
def test_error_lines_in_other_shapes(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={}, registry=REGISTRY)
    assert str(caught.value) == expected.replace("{file}", str(path))


# --------------------------------------------------------------------------------------------
# Success


def test_minimal_file_gets_every_default(tmp_path):
    config = load(tmp_path, "")
    assert config.path == tmp_path / "openwatch.toml"
    assert config.database == tmp_path / "openwatch.db"
    assert config.endpoints.huggingface == "https://huggingface.co"
    assert config.endpoints.github == "https://github.com"
    assert config.endpoints.github_api == "https://api.github.com"
    assert config.endpoints.arxiv == "https://export.arxiv.org"
    assert config.watches == () and config.subscriptions == () and config.smtp is None
    assert config.daemon.dispatch_every == 5 and config.daemon.shutdown_grace == 30
    assert config.daemon.log_format == "text"
    agent = re.compile(r"openwatch/\S+ \(\+https://github\.com/openwatch/openwatch\)")
    assert agent.fullmatch(config.daemon.user_agent)


@pytest.mark.parametrize(
    ("every", "timeout", "jitter"),
    [("2m", 120, 12), ("30m", 1800, 180), ("6h", 1800, 300), ("1h30m", 1800, 300)],
)
def test_watch_defaults(tmp_path, every, timeout, jitter):
    watch = load(tmp_path, WATCH.replace('"30m"', f'"{every}"')).watch("labs")
    assert (watch.timeout, watch.jitter) == (timeout, jitter)
    assert watch.enabled is True and watch.failing_after == 3
    assert watch.every == parse_duration(every)


@pytest.mark.parametrize(("extra", "expected"), [
    ("", 60), ('timeout = "20s"', 20), ('request_timeout = "5s"', 5), ('timeout = "10s"\nrequest_timeout = "2s"', 2),
])
def test_request_timeout_defaults_to_the_timeout_at_most_a_minute(tmp_path, extra, expected):
    watch = load(tmp_path, WATCH + extra + "\n").watch("labs")
    assert watch.request_timeout == expected


def test_request_timeout_longer_than_the_timeout_is_refused(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, WATCH + 'timeout = "10s"\nrequest_timeout = "1m"\n')
    assert "watch[1].request_timeout" in str(caught.value) and "at most the timeout" in str(caught.value)


def test_watch_of_every_source(tmp_path):
    config = load(
        tmp_path,
        """\
        [[watch]]
        name = "releases"
        source = "github"
        repos = ["deepseek-ai/DeepSeek-V3", "openai/gpt-oss"]
        every = "1h"
        timeout = "5m"
        jitter = "0s"
        enabled = false
        failing_after = 5

        [[watch]]
        name = "papers"
        source = "arxiv"
        query = 'abs:"open-weight" AND (cat:cs.CL OR cat:cs.LG)'
        every = "6h"

        [[watch]]
        name = "blogs"
        source = "feed"
        urls = ["https://example.org/blog/index.xml"]
        every = "2h"

        [[watch]]
        name = "daily_papers"
        source = "hf_papers"
        every = "1d"
        """,
    )
    releases = config.watch("releases")
    assert releases.units == ("deepseek-ai/DeepSeek-V3", "openai/gpt-oss")
    assert (releases.timeout, releases.jitter) == (300, 0)
    assert (releases.enabled, releases.failing_after) == (False, 5)
    assert config.watch("papers").units == ('abs:"open-weight" AND (cat:cs.CL OR cat:cs.LG)',)
    assert config.watch("blogs").units == ("https://example.org/blog/index.xml",)
    assert config.watch("daily_papers").units == ("daily_papers",)  # one stream, baselined once


def test_registry_selectors_expand_in_order_without_duplicates(tmp_path):
    text = WATCH.replace('["meta-llama"]', '["deepseek-ai", "registry:US", "allenai", "registry:cn"]')
    assert load(tmp_path, text).watch("labs").orgs == ("deepseek-ai", "meta-llama", "allenai", "Qwen")


def test_registry_all(tmp_path):
    text = WATCH.replace('["meta-llama"]', '["registry:all"]')
    assert load(tmp_path, text).watch("labs").units == ("meta-llama", "allenai", "deepseek-ai", "Qwen")


def test_environment_substitution(tmp_path):
    config = load(
        tmp_path,
        """\
        database = "${DATA}/ow.db"

        [[subscription]]
        name = "team"
        channel = "slack"
        url = "${SLACK_WEBHOOK_URL}"

        [[watch]]
        name = "papers"
        source = "arxiv"
        query = "costs $${NOT_A_VAR} and $5"
        every = "6h"
        """,
        environ={"DATA": "state", "SLACK_WEBHOOK_URL": SLACK_URL},
    )
    assert config.database == tmp_path / "state" / "ow.db"
    assert config.subscription("team").options["url"] == SLACK_URL
    assert config.watch("papers").query == "costs ${NOT_A_VAR} and $5"


def test_database_path_relative_to_the_file_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "etc", 'database = "../var/ow.db"\n')
    database = load_config(Path("etc/openwatch.toml"), environ={}).database
    assert database == tmp_path / "etc" / ".." / "var" / "ow.db"
    absolute = tmp_path / "elsewhere.db"
    path.write_text(f'database = "{absolute}"\n')
    assert load_config(path, environ={}).database == absolute


def test_hf_endpoint_from_environment_unless_the_file_sets_it(tmp_path):
    environ = {"HF_ENDPOINT": "http://127.0.0.1:8080/"}
    assert load(tmp_path, "", environ).endpoints.huggingface == "http://127.0.0.1:8080"
    text = """\
        [endpoints]
        huggingface = "https://hf-mirror.example/base/"
        github_api = "http://127.0.0.1:9/"
        """
    endpoints = load(tmp_path, text, environ).endpoints
    assert endpoints.huggingface == "https://hf-mirror.example/base"
    assert endpoints.github_api == "http://127.0.0.1:9"


def test_short_intervals_allowed_for_tests(tmp_path):
    text = WATCH.replace('"30m"', '"2s"')
    watch = load(tmp_path, text, {"OPENWATCH_ALLOW_SHORT_INTERVALS": "1"}).watch("labs")
    assert (watch.every, watch.timeout) == (2, 2)
    assert watch.jitter == pytest.approx(0.2)


def test_subscriptions_of_every_channel_and_their_filters(tmp_path):
    config = load(
        tmp_path,
        WATCH
        + """\

        [smtp]
        host = "localhost"
        password = "${SMTP_PASSWORD}"
        sender = "openwatch <ow@example.org>"

        [[subscription]]
        name = "team"
        channel = "slack"
        url = "https://hooks.slack.com/services/T/B/X"
        events = ["model.*", "source.failing"]
        orgs = ["DeepSeek-AI", "registry:US"]
        countries = ["cn", "US"]
        categories = ["Permissive", "non-commercial"]
        watches = ["labs"]
        models = ["deepseek-ai/DeepSeek-V3", "repo:github/openai/gpt-oss"]
        digest = "weekly mon 09:30"
        timezone = "Europe/Paris"

        [[subscription]]
        name = "me"
        channel = "email"
        to = ["Me <me@example.org>", "you@example.org"]
        enabled = false

        [[subscription]]
        name = "pipeline"
        channel = "webhook"
        url = "https://example.org/hooks/openwatch"
        secret = "${OPENWATCH_WEBHOOK_SECRET}"
        events = ["*"]

        [[subscription]]
        name = "phone"
        channel = "apprise"
        url = "tgram://bottoken/chatid"
        digest = "hourly"
        """,
        environ={"SMTP_PASSWORD": "pw", "OPENWATCH_WEBHOOK_SECRET": SECRET},
    )
    team = config.subscription("team")
    assert team.events == {t for t in EVENT_TYPES if t.startswith("model.")} | {"source.failing"}
    assert team.orgs == {"deepseek-ai", "meta-llama", "allenai"}
    assert team.countries == {"CN", "US"}
    assert team.categories == {"permissive", "non-commercial"}
    assert team.watches == {"labs"}
    assert team.models == {"model:hf/deepseek-ai/DeepSeek-V3", "repo:github/openai/gpt-oss"}
    assert team.digest == Digest("weekly", 0, 9, 30, "Europe/Paris")
    assert str(team.digest) == "weekly MON 09:30 (Europe/Paris)"
    assert dict(team.options) == {"url": "https://hooks.slack.com/services/T/B/X"}

    me = config.subscription("me")
    assert me.events == frozenset(DEFAULT_SUBSCRIBED)
    assert (me.orgs, me.countries, me.categories, me.watches, me.models, me.digest) == (None,) * 6
    assert me.enabled is False
    assert dict(me.options) == {"to": ("Me <me@example.org>", "you@example.org")}

    pipeline = config.subscription("pipeline")
    assert pipeline.events == frozenset(EVENT_TYPES)
    assert pipeline.options["secret"] == SECRET
    assert config.subscription("phone").digest == Digest("hourly", None, 0, 0, "UTC")

    assert config.smtp.port == 25 and config.smtp.timeout == 30
    assert (config.smtp.starttls, config.smtp.ssl, config.smtp.username) == (False, False, "")
    assert config.smtp.password == "pw"


def test_smtp_ssl_defaults_to_port_465(tmp_path):
    smtp = load(tmp_path, '[smtp]\nhost = "mail"\nsender = "a@b.c"\nssl = true\ntimeout = "1m"\n').smtp
    assert (smtp.port, smtp.timeout) == (465, 60)


def test_repr_hides_secrets(tmp_path):
    text = (
        '[smtp]\nhost = "mail"\nsender = "a@b.c"\npassword = "hunter2"\n'
        f'[[subscription]]\nname = "s"\nchannel = "slack"\nurl = "{SLACK_URL}"\n'
    )
    config = load(tmp_path, text)
    assert "hunter2" not in repr(config) and "XXXXSECRETXXXX" not in repr(config)
    hash(config.subscription("s"))


def test_unknown_watch_or_subscription_name(tmp_path):
    config = load(tmp_path, WATCH + "\n" + WATCH.replace('"labs"', '"more"'))
    with pytest.raises(UnknownNameError) as caught:
        config.watch("lab")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, ConfigError)
    assert str(caught.value) == 'unknown watch "lab"; known: labs, more'
    with pytest.raises(KeyError, match="the configuration has no subscription"):
        config.subscription("team")


# --------------------------------------------------------------------------------------------
# Pieces


@pytest.mark.parametrize(
    ("explicit", "environ", "cwd", "expected"),
    [
        ("a.toml", {"OPENWATCH_CONFIG": "b.toml"}, None, Path("a.toml")),
        (None, {"OPENWATCH_CONFIG": "b.toml"}, None, Path("b.toml")),
        (None, {}, None, Path("openwatch.toml")),
        (None, {"OPENWATCH_CONFIG": ""}, Path("/srv"), Path("/srv/openwatch.toml")),
        ("conf/a.toml", {}, Path("/srv"), Path("/srv/conf/a.toml")),
        ("/etc/ow.toml", {}, Path("/srv"), Path("/etc/ow.toml")),
    ],
)
def test_find_config_path(explicit, environ, cwd, expected):
    assert find_config_path(explicit, environ, cwd) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), ("1h30m", 5400), ("1h 30m", 5400),
     ("1.5h", 5400), ("2w", 1209600), ("0s", 0)],
)  # fmt: skip
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30x", "", "30", "m", "-5m", "1h-30m", "30 minutes", "1M"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "0.5s"), (90, "1m30s"), (1800, "30m"), (5400, "1h30m"), (86400, "1d"), (90061, "1d1h1m1s")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (SLACK_URL, "https://hooks.slack.com/…"),
        ("https://user:pw@example.org:8443/hook?token=1", "https://example.org:8443/…"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        (SECRET, "whsec_…"),
        ("tgram://bottoken/chatid", "tgram://…"),
        ("hunter2", "…"),
        ("", ""),
        (None, ""),
    ],
)
def test_redact(value, shown):
    assert redact(value) == shown


UTC = timezone.utc
HOURLY = Digest("hourly", None, 0, 0)
NINE = Digest("daily", None, 9, 0)
PARIS_NINE = Digest("daily", None, 9, 0, "Europe/Paris")
PARIS_HALF_TWO = Digest("daily", None, 2, 30, "Europe/Paris")


# Paris: CET (+1) until 2025-03-30 01:00 UTC, then CEST (+2); CET again from 2025-10-26 01:00 UTC.
# New York: EST (-5) until 2025-03-09 07:00 UTC, then EDT (-4).
@pytest.mark.parametrize(
    ("digest", "moment", "expected"),
    [
        pytest.param(HOURLY, "2025-01-01T10:15:00+00:00", "2025-01-01T11:00", id="hourly"),
        pytest.param(HOURLY, "2025-01-01T23:00:00+00:00", "2025-01-02T00:00", id="hourly-exact"),
        pytest.param(
            Digest("hourly", None, 0, 0, "Asia/Kolkata"),
            "2025-01-01T10:15:00+00:00",
            "2025-01-01T10:30",
            id="hourly-half-hour-zone",
        ),
        pytest.param(
            Digest("hourly", None, 0, 0, "Europe/Paris"),
            "2025-10-26T00:30:00+00:00",
            "2025-10-26T01:00",
            id="hourly-in-fall-back",
        ),
        pytest.param(NINE, "2025-01-01T08:59:59+00:00", "2025-01-01T09:00", id="daily-same-day"),
        pytest.param(NINE, "2025-01-01T09:00:00+00:00", "2025-01-02T09:00", id="daily-strictly-after"),
        pytest.param(NINE, "2024-12-31T22:00:00+00:00", "2025-01-01T09:00", id="daily-year-end"),
        pytest.param(NINE, "2025-01-01T12:00:00+05:00", "2025-01-01T09:00", id="daily-moment-offset"),
        pytest.param(
            Digest("weekly", 0, 9, 0), "2025-01-01T12:00:00+00:00", "2025-01-06T09:00", id="weekly"
        ),
        pytest.param(
            Digest("weekly", 6, 18, 30),
            "2025-01-05T18:30:00+00:00",
            "2025-01-12T18:30",
            id="weekly-full-week",
        ),
        pytest.param(
            Digest("weekly", 0, 0, 0),
            "2025-01-05T23:59:00+00:00",
            "2025-01-06T00:00",
            id="weekly-sunday-night",
        ),
        pytest.param(
            PARIS_NINE, "2025-03-29T09:00:00+00:00", "2025-03-30T07:00", id="dst-spring-forward"
        ),
        pytest.param(PARIS_NINE, "2025-10-25T12:00:00+00:00", "2025-10-26T08:00", id="dst-fall-back"),
        pytest.param(
            PARIS_HALF_TWO, "2025-03-29T12:00:00+00:00", "2025-03-30T01:30", id="dst-skipped-time"
        ),
        pytest.param(
            PARIS_HALF_TWO, "2025-10-25T12:00:00+00:00", "2025-10-26T00:30", id="dst-repeated-time"
        ),
        pytest.param(
            Digest("weekly", 0, 9, 0, "America/New_York"),
            "2025-03-07T00:00:00+00:00",
            "2025-03-10T13:00",
            id="weekly-across-dst",
        ),
    ],
)
def test_digest_next_after(digest, moment, expected):
    got = digest.next_after(datetime.fromisoformat(moment))
    assert got == datetime.fromisoformat(expected).replace(tzinfo=UTC)
    assert got.tzinfo == UTC


def test_digest_needs_an_aware_moment():
    with pytest.raises(ValueError):
        Digest("hourly", None, 0, 0).next_after(datetime(2025, 1, 1))


# --------------------------------------------------------------------------------------------
# openwatch init


def test_starter_config_loads_with_an_empty_environment(tmp_path):
    path = write_starter(tmp_path / "openwatch.toml", default_orgs())
    config = load_config(path, environ={})
    assert [w.name for w in config.watches] == ["us-labs", "cn-labs", "cn-modelscope", "lab-releases",
                                                "open-weight-papers", "daily-papers", "lab-blogs", "new-apache-models"]
    assert {w.source for w in config.watches} == {"huggingface", "modelscope", "github", "arxiv", "hf_papers", "feed"}
    assert {"meta-llama", "openai", "allenai", "marin-community"} <= set(config.watch("us-labs").orgs)
    assert {"deepseek-ai", "Qwen", "moonshotai", "zai-org", "MiniMaxAI"} <= set(config.watch("cn-labs").orgs)
    assert config.watch("us-labs").every == config.watch("cn-labs").every == 1800
    assert not config.watch("new-apache-models").enabled  # hub-wide: many models a day, opt in
    assert config.database == tmp_path / "openwatch.db"
    assert config.subscriptions == ()
    active = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not any("${" in line for line in active)


def test_starter_examples_load_once_uncommented(tmp_path):
    """The commented examples are valid too: uncomment every `# key = …` and `# [table]` line."""
    text = starter_config(default_orgs())
    example = re.compile(r"^# (?=\[|[a-z_]+ = )", re.MULTILINE)
    path = write(tmp_path, example.sub("", text))
    environ = {
        "SMTP_PASSWORD": "pw",
        "SLACK_WEBHOOK_URL": SLACK_URL,
        "OPENWATCH_WEBHOOK_SECRET": SECRET,
        "APPRISE_URL": "tgram://token/chat",
    }
    config = load_config(path, environ=environ, registry=default_orgs())
    assert [w.name for w in config.watches][2:] == ["cn-modelscope", "lab-releases", "open-weight-papers",
                                                    "daily-papers", "lab-blogs", "new-apache-models"]
    assert config.feed_path == tmp_path / "events.xml"
    assert [s.name for s in config.subscriptions] == ["team", "me", "pipeline", "phone"]
    assert config.smtp is not None and config.daemon.log_format == "text"
    assert config.endpoints.huggingface == "https://huggingface.co"


def test_starter_with_a_registry_lacking_the_notable_labs(tmp_path):
    registry = OrgTable.from_rows([{"hf_org": "some-lab", "country": "US"}])
    path = write_starter(tmp_path / "ow.toml", registry)
    config = load_config(path, environ={}, registry=registry)
    hubs = [(w.name, w.orgs) for w in config.watches if w.source == "huggingface" and w.orgs]
    assert hubs == [("us-labs", ("some-lab",))]


def test_write_starter_refuses_to_overwrite(tmp_path):
    path = tmp_path / "openwatch.toml"
    path.write_text("# mine\n")
    with pytest.raises(ConfigError) as caught:
        write_starter(path, REGISTRY)
    assert str(caught.value) == (
        f"{path}: already exists; pass --force to overwrite it, or --config PATH to write elsewhere"
    )
    assert path.read_text() == "# mine\n"
    write_starter(path, REGISTRY, force=True)
    assert "[[watch]]" in path.read_text()


def test_write_starter_creates_the_folder(tmp_path):
    path = write_starter(tmp_path / "a" / "b" / "openwatch.toml", REGISTRY)
    config = load_config(path, environ={}, registry=REGISTRY)
    assert config.watch("cn-labs").orgs == ("deepseek-ai", "Qwen")
