"""Signed webhooks (Standard Webhooks: https://www.standardwebhooks.com/)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from standardwebhooks.webhooks import Webhook

from alerts.channels.base import Channel, Receipt, http_url_option
from alerts.exceptions import ChannelConfigError
from alerts.redaction import redact_secret
from alerts.types import MissingSecret, Rendered
from crawler.events import SCHEMA_VERSION

if TYPE_CHECKING:
    from alerts.types import Subscription

SECRET_FIX = (
    'use "whsec_" followed by base64, e.g. the output of python -c "import base64, os; '
    "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""
)


def webhook_body(event: Mapping[str, Any]) -> bytes:
    """The POST body: the public event object plus `schema_version`, compact UTF-8 JSON."""
    from alerts.render import public_event

    body = public_event(event) | {"schema_version": SCHEMA_VERSION}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookChannel(Channel):
    """POST every event as JSON to a URL, signed per Standard Webhooks.

    Options: url, secret = "${OPENWATCH_WEBHOOK_SECRET}" (a `whsec_…` base64 key).
    One request per event; the body is the event object of `openwatch events --json` plus
    "schema_version". Headers: webhook-id (the event id: the same on every retry, use it to
    drop duplicates), webhook-timestamp, webhook-signature ("v1,<base64 HMAC-SHA256 of
    id.timestamp.body>"). Answer 2xx to accept; 408, 429 and 5xx are retried with backoff
    (Retry-After honoured); 410 and other 4xx are refusals (dead letters). Redirects are not
    followed.
    """

    kind = "webhook"
    grouped = False
    keys = ("url", "secret")
    required_options = ("url", "secret")
    secret_options = ("url", "secret")

    @classmethod
    def options(cls, read: Any) -> dict[str, Any]:
        url = http_url_option(read, example='"https://example.org/hooks/openwatch"')
        return {"url": url, "secret": cls.read_secret(read)}

    @staticmethod
    def read_secret(read: Any) -> str | MissingSecret:
        """`secret`: "whsec_" and a base64 key, as Standard Webhooks' libraries expect."""
        secret = read.string("secret", secret=True, example='"${OPENWATCH_WEBHOOK_SECRET}"')
        if isinstance(secret, MissingSecret):
            return secret
        if not secret.startswith("whsec_"):
            raise read.error("secret", f'{redact_secret(secret)} does not start with "whsec_"', SECRET_FIX)
        try:
            decoded = base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if not decoded:
            raise read.error("secret", f"{redact_secret(secret)} is not base64 after its prefix", SECRET_FIX)
        return secret

    def render(
        self, sub: "Subscription", events: Sequence[Mapping[str, Any]], *, digest_title: str | None
    ) -> list[Rendered]:
        return [Rendered((e["id"],), webhook_body(e)) for e in events]

    def signer(self, sub: "Subscription") -> Webhook:
        try:
            return Webhook(str(sub.options["secret"]))
        except (binascii.Error, ValueError, Exception) as exc:
            raise ChannelConfigError(
                f"subscription {sub.name!r}: webhook secret is not a base64 key (whsec_…)"
            ) from exc

    def headers(self, sub: "Subscription", message: Rendered) -> dict[str, str]:
        """Standard Webhooks headers, signed now (receivers reject timestamps > 5 min off)."""
        msg_id = message.event_ids[0]
        sent_at = self.transport.now()
        signature = self.signer(sub).sign(msg_id, sent_at, message.payload.decode())
        return {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent(),
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        }

    def send(self, sub: "Subscription", message: Rendered, *, now: datetime) -> Receipt:
        url = str(sub.options["url"])
        response = self.transport.post(
            url, content=message.payload, headers=self.headers(sub, message), secrets=self.secrets(sub)
        )
        if 200 <= response.status_code < 300:
            return Receipt(response.status_code, self.excerpt(response, sub, 100))
        raise self.http_error(response, sub)
