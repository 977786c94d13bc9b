"""Any service Apprise knows (https://github.com/caronc/apprise/wiki): an optional extra."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from alerts.channels.base import Channel, Receipt
from alerts.exceptions import ChannelConfigError, DeliveryError
from alerts.redaction import install_log_redaction, redact_secret, redact_url
from alerts.types import MissingSecret, Rendered

if TYPE_CHECKING:
    from alerts.types import Subscription

MISSING_EXTRA = 'apprise channel needs the extra: pip install "openwatch[apprise]"'


def plain_text(events: Sequence[Mapping[str, Any]], *, digest_title: str | None = None) -> tuple[str, str]:
    """(title, body) in plain text."""
    from alerts.render import SUBJECT_PREFIX, email_subject, group_events

    title = email_subject(events, digest_title=digest_title).removeprefix(SUBJECT_PREFIX).strip()
    lines = []
    for group in group_events(events):
        lines.append(f"{group.label} ({group.count})")
        for org in group.orgs:
            for view in org.events:
                line = f"- {view['headline']}"
                if view["url"]:
                    line += f" {view['url']}"
                lines.append(line)
    return title, "\n".join(lines)


class AppriseChannel(Channel):
    """Notify through Apprise (Discord, Telegram, Matrix, ntfy, Teams, …); needs the extra:
    pip install "openwatch[apprise]".

    Options: url = "${APPRISE_URL}" (an Apprise URL such as "ntfy://topic"; it usually holds
    a token, keep it in the environment). Messages are plain text: a title and one line per
    event. Apprise reports only success or failure, so every failure is retried with backoff.
    Without the extra installed, deliveries stay `failed` with that message until it is.
    """

    kind = "apprise"
    keys = ("url",)
    required_options = ("url",)
    secret_options = ("url",)
    MAX_EVENTS = 100  # per notification: many services cap message length

    @classmethod
    def options(cls, read: Any) -> dict[str, Any]:
        url = read.string("url", secret=True, example='"${APPRISE_URL}"')
        if not isinstance(url, MissingSecret) and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://\S", url):
            raise read.error("url", f"{redact_secret(url)} is not an Apprise URL",
                             'write a URL such as "mailto://user:pass@example.org" (see the Apprise docs)')
        return {"url": url}

    def target(self, sub: "Subscription") -> str:
        return redact_url(str(sub.options.get("url") or ""))

    def render(
        self, sub: "Subscription", events: Sequence[Mapping[str, Any]], *, digest_title: str | None
    ) -> list[Rendered]:
        chunks = [list(events[i : i + self.MAX_EVENTS]) for i in range(0, len(events), self.MAX_EVENTS)]
        return [
            Rendered(tuple(e["id"] for e in chunk), plain_text(chunk, digest_title=digest_title))
            for chunk in chunks
        ]

    def send(self, sub: "Subscription", message: Rendered, *, now: datetime) -> Receipt:
        try:
            import apprise
        except ImportError as exc:
            raise DeliveryError(MISSING_EXTRA, retryable=True) from exc
        install_log_redaction(("apprise",))  # apprise may log the URL, tokens included
        notifier = apprise.Apprise()
        if not notifier.add(str(sub.options["url"])):
            raise ChannelConfigError(f"subscription {sub.name!r}: apprise does not understand the URL {self.target(sub)}")
        title, body = message.payload
        if not notifier.notify(body=body or title, title=title):
            raise DeliveryError(f"apprise could not deliver to {self.target(sub)}", retryable=True)
        return Receipt(None, "accepted by apprise")
