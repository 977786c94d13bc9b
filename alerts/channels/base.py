"""The channel interface and its registry. A channel turns rendered messages into delivery
attempts; it knows nothing of spiders, the outbox or the database.

Reading a config loads the registry (each channel declares its keys and reads its options),
and a run with nothing to send loads no rendering, HTTP client or template engine
(tests/e2e/test_huggingface.py): so channel modules import `alerts.render` where they render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from alerts.exceptions import ChannelConfigError, DeliveryError, UnknownChannel
from alerts.redaction import is_http_url, redact_secret, redact_url, scrub_excerpt
from alerts.types import MissingSecret, Rendered
from crawler.identity import user_agent

if TYPE_CHECKING:
    import httpx

    from alerts.settings import AlertSettings
    from alerts.transport import Transport
    from alerts.types import Subscription


@dataclass(frozen=True)
class Receipt:
    """What the receiver answered to a message it accepted (`200 ok`, `250 2.0.0 queued`)."""

    status: int | str | None
    detail: str

    def __str__(self) -> str:
        return " ".join(str(p) for p in (self.status, self.detail) if p not in (None, ""))


class Channel:
    """Base class: subclasses register themselves under their `kind`; their docstring is
    the user help printed by the CLI."""

    registry: ClassVar[dict[str, type["Channel"]]] = {}
    kind: ClassVar[str]
    #: This channel's own `[[subscription]]` keys (besides name, channel, events, filters, digest).
    keys: ClassVar[tuple[str, ...]] = ()
    #: Options every subscription of this channel must set (`url`, `to`, …).
    required_options: ClassVar[tuple[str, ...]] = ()
    #: Its keys that hold secrets (URLs carry tokens): kept in the environment, never shown in
    #: full; a config loaded for queries may leave their `${VAR}` unset.
    secret_options: ClassVar[tuple[str, ...]] = ()
    #: Whether its subscriptions need the `[smtp]` section.
    needs_smtp: ClassVar[bool] = False
    #: True: a burst of events becomes grouped messages; False: one request per event.
    grouped: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            if kind in Channel.registry and Channel.registry[kind] is not cls:
                raise TypeError(f"channel kind {kind!r} registered twice")
            Channel.registry[kind] = cls

    def __init__(self, transport: "Transport", settings: "AlertSettings | None" = None) -> None:
        self.transport = transport
        self.settings = settings

    # -- what a subscription looks like to this channel --------------------------------------

    @classmethod
    def options(cls, read: Any) -> dict[str, Any]:
        """Validate this channel's keys of one `[[subscription]]` into its `options`. `read` is
        the config's reader over that table: `read.string(key, example=…, secret=…)`,
        `read.string_list`, `read.has(key)`, `read.show(value)`, `read.error(key, problem,
        fix)` (a `file:line: key: problem; fix` error). By default each key is a string."""
        return {key: read.string(key, example='"…"', secret=key in cls.secret_options)
                for key in cls.keys if read.has(key) or key in cls.required_options}

    def check(self, sub: "Subscription") -> None:
        """Raise `ChannelConfigError` when `sub` lacks what this channel needs."""
        missing = [name for name in self.required_options if not sub.options.get(name)]
        if missing:
            raise ChannelConfigError(
                f"subscription {sub.name!r}: channel {self.kind} needs {', '.join(missing)}"
            )

    def target(self, sub: "Subscription") -> str:
        """Where messages go, safe to show (`https://hooks.slack.com/…`)."""
        url = sub.options.get("url")
        if url is not None and not isinstance(url, str):
            return str(url)  # a secret not loaded (`alerts.types.MissingSecret`): names its variable
        return redact_url(url) if url else ""

    def secrets(self, sub: "Subscription") -> list[str]:
        """Every string that must never be shown in full: this subscription's URL and secrets,
        and (a receiver may echo anything) those of every other subscription and [smtp]."""
        subs = [sub, *(self.settings.subscriptions if self.settings else ())]
        found = [str(s.options.get(name) or "") for s in subs for name in secret_options()]
        smtp = self.settings.smtp if self.settings else None
        if smtp is not None and smtp.password:
            found.append(str(smtp.password))
        return list(dict.fromkeys(s for s in found if s))

    # -- rendering and sending ----------------------------------------------------------------

    def render(
        self, sub: "Subscription", events: Sequence[Mapping[str, Any]], *, digest_title: str | None
    ) -> list[Rendered]:
        raise NotImplementedError

    def send(self, sub: "Subscription", message: Rendered, *, now: datetime) -> Receipt:
        """Deliver one message; raise `DeliveryError` (retryable or not) when it was not accepted."""
        raise NotImplementedError

    # -- helpers for HTTP channels -------------------------------------------------------------

    def user_agent(self) -> str:
        """The settings' User-Agent (`[daemon] user_agent`, default `openwatch/<version> (+<project URL>)`)."""
        return self.settings.user_agent if self.settings else user_agent()

    def excerpt(self, response: httpx.Response, sub: "Subscription", limit: int) -> str:
        """The start of a receiver's answer (one line, at most `limit` characters), safe to
        store and log: scrubbed of every secret before it is cut."""
        return scrub_excerpt(response.text, self.secrets(sub), limit)

    def http_error(self, response: httpx.Response, sub: "Subscription", *, permanent_4xx: bool = True) -> DeliveryError:
        """Classify a non-2xx answer: 408, 429 and 5xx are transient (honouring
        `Retry-After`); 3xx and other 4xx are refusals, never retried."""
        status = response.status_code
        reason = self.excerpt(response, sub, 200) or response.reason_phrase
        message = f"{self.target(sub)} answered {status} {reason}".strip()
        retry_after = self.transport.retry_after(response.headers.get("Retry-After"))
        if status in (408, 429) or status >= 500:
            return DeliveryError(message, retryable=True, retry_after=retry_after, status=status)
        if 300 <= status < 400:
            return DeliveryError(f"{message} (redirects are not followed: update the URL)", retryable=False, status=status)
        return DeliveryError(message, retryable=not permanent_4xx, status=status)


def http_url_option(read: Any, key: str = "url", *, example: str) -> str | MissingSecret:
    """A secret http(s) URL option (a Slack incoming webhook, a webhook receiver)."""
    url = read.string(key, secret=True, example=example)
    if not isinstance(url, MissingSecret) and not is_http_url(url):
        raise read.error(key, f"{redact_secret(url)} is not an http(s) URL",
                         "write the full URL, starting with https://")
    return url


def secret_options() -> tuple[str, ...]:
    """Every option name a registered channel declares secret (`url`, `secret`, …)."""
    return tuple(dict.fromkeys(name for cls in Channel.registry.values() for name in cls.secret_options))


def channel_class(kind: str) -> type[Channel]:
    try:
        return Channel.registry[kind]
    except KeyError:
        known = ", ".join(sorted(Channel.registry))
        raise UnknownChannel(f"unknown channel {kind!r} (known: {known})") from None


def channel_help() -> dict[str, str]:
    """kind → user help (the class docstring), for `openwatch` to print."""
    import inspect

    return {kind: inspect.getdoc(cls) or "" for kind, cls in sorted(Channel.registry.items())}
