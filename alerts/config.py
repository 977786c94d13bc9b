"""Alerts' own sections of `openwatch.toml`: `[smtp]` and each `[[subscription]]`.

The config package (`jobs/config/`) finds the file, substitutes `${VAR}` and hands each table
to its owner with a typed reader (`read.string`, `read.error`, …: errors keep the
`file:line: key: problem; fix` form). A subscription's generic keys are read here; its
channel's keys by the channel class (`Channel.options(read)`), found in the registry.
"""

from __future__ import annotations

from email.utils import parseaddr
from types import MappingProxyType
from typing import Any

from alerts.channels import Channel
from alerts.digest import read_digest
from alerts.types import Smtp, Subscription
from crawler.events import default_subscribed

SUBSCRIPTION_KEYS = (
    "name", "channel", "events", "orgs", "countries", "categories", "watches", "models",
    "digest", "timezone", "enabled",
)  # fmt: skip
SMTP_KEYS = ("host", "port", "starttls", "ssl", "username", "password", "sender", "timeout")
DEFAULT_SMTP_TIMEOUT = 30.0


def channel_keys() -> dict[str, tuple[str, ...]]:
    """Each registered channel's own subscription keys, by kind (registration order)."""
    return {kind: cls.keys for kind, cls in Channel.registry.items()}


def is_secret(at: tuple) -> bool:
    """Whether key path `at` holds a secret: `[smtp] password`, or a subscription option that
    a channel declares secret. Only sending needs these; a config loaded for queries may leave
    their `${VAR}` unset."""
    if at == ("smtp", "password"):
        return True
    secret = {name for cls in Channel.registry.values() for name in cls.secret_options}
    return len(at) == 3 and at[0] == "subscription" and isinstance(at[1], int) and at[2] in secret


def read_smtp(read: Any) -> Smtp:
    """The `[smtp]` table: the mail server email subscriptions go through."""
    read.check_keys(SMTP_KEYS)
    host = read.string("host", example='"localhost"')
    ssl = read.boolean("ssl", default=False)
    starttls = read.boolean("starttls", default=False)
    if ssl and starttls:
        raise read.error(
            "starttls",
            "starttls and ssl are both true",
            "choose one: ssl = true for implicit TLS (port 465), starttls = true for port 587",
        )
    port = read.integer("port", default=465 if ssl else 25, minimum=1, maximum=65535)
    sender = read.string("sender", example='"openwatch <openwatch@example.org>"')
    if "@" not in parseaddr(sender)[1]:
        raise read.error(
            "sender",
            f"{read.show(sender)} is not an email address",
            'write e.g. sender = "openwatch <openwatch@example.org>"',
        )
    timeout = read.duration("timeout", default=DEFAULT_SMTP_TIMEOUT, example="30", numbers=True)
    if timeout <= 0:
        raise read.error("timeout", "must be more than 0 seconds", "write e.g. timeout = 30")
    return Smtp(
        host=host,
        port=port,
        starttls=starttls,
        ssl=ssl,
        username=read.string("username", default="", empty=True, example='"openwatch"'),
        password=read.string("password", default="", empty=True, secret=True, example='"${SMTP_PASSWORD}"'),
        sender=sender,
        timeout=timeout,
    )


def read_subscription(read: Any, smtp: Smtp | None) -> Subscription:
    """One `[[subscription]]`: its generic keys here, its channel's by the channel class."""
    channels = Channel.registry
    every_key = SUBSCRIPTION_KEYS + tuple(dict.fromkeys(k for cls in channels.values() for k in cls.keys))
    read.check_keys(every_key)
    name = read.name("subscription")
    kind = read.choice("channel", tuple(channels), noun="channel")
    channel = channels[kind]
    own = channel.keys
    for key in read.keys():
        if key not in SUBSCRIPTION_KEYS and key not in own:
            owners = [c for c, cls in channels.items() if key in cls.keys]
            raise read.error(
                key,
                f"is not used by {kind} subscriptions",
                f'{kind} subscriptions take {", ".join(own)}; remove it, or set channel = "{owners[0]}"',
            )
    options = channel.options(read)
    if channel.needs_smtp and smtp is None:
        raise read.error(
            "channel",
            f"{kind} subscriptions need an [smtp] table",
            'add [smtp] with host and sender, e.g. host = "localhost"',
        )
    digest = read_digest(read)
    events = read.filter("events")
    return Subscription(
        name=name,
        channel=kind,
        events=frozenset(default_subscribed()) if events is None else events,
        orgs=read.filter("orgs"),
        countries=read.filter("countries"),
        categories=read.filter("categories"),
        watches=read.filter("watches"),
        models=read.filter("models"),
        digest=digest,
        enabled=read.boolean("enabled", default=True),
        options=MappingProxyType(dict(options)),
    )
