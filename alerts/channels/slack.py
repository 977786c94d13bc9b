"""Slack incoming webhooks (https://api.slack.com/messaging/webhooks)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from alerts import render
from alerts.channels.base import Channel, Receipt, http_url_option
from alerts.exceptions import RateLimited
from alerts.render import Rendered

if TYPE_CHECKING:
    from alerts.types import Subscription


class SlackChannel(Channel):
    """Post to a Slack channel through an incoming webhook.

    Options: url = "${SLACK_WEBHOOK_URL}" (keep the URL in the environment: it is a secret).
    One event becomes one message; a burst becomes grouped messages (at most 50 blocks each),
    at most one message per second per webhook. Slack answers 404 no_service, 403
    invalid_token / action_prohibited, 410 channel_is_archived or 400 invalid_payload for
    a webhook that will never work: those deliveries become dead letters (`openwatch status`).
    """

    kind = "slack"
    required_options = ("url",)

    keys = ("url",)
    secret_options = ("url",)

    MAX_BLOCKS = 50            # blocks per message
    MAX_SECTION_CHARS = 3000   # text of a section block
    MAX_HEADER_CHARS = 150     # plain text of a header block
    MAX_FIELDS = 10            # fields of a section block
    MAX_FIELD_CHARS = 2000     # text of one field
    MAX_TEXT_CHARS = 3000      # the `text` fallback (notifications, screen readers)
    MIN_INTERVAL = 1.0         # seconds between two messages to one webhook
    DEFAULT_RETRY_AFTER = 30.0  # seconds to leave a webhook alone after a 429 without Retry-After

    @classmethod
    def options(cls, read: Any) -> dict[str, Any]:
        return {"url": http_url_option(read, example='"${SLACK_WEBHOOK_URL}"')}

    @classmethod
    def limits(cls) -> render.SlackLimits:
        return render.SlackLimits(
            max_blocks=cls.MAX_BLOCKS,
            max_section_chars=cls.MAX_SECTION_CHARS,
            max_header_chars=cls.MAX_HEADER_CHARS,
            max_fields=cls.MAX_FIELDS,
            max_field_chars=cls.MAX_FIELD_CHARS,
            max_text_chars=cls.MAX_TEXT_CHARS,
        )

    def render(
        self, sub: "Subscription", events: Sequence[Mapping[str, Any]], *, digest_title: str | None
    ) -> list[Rendered]:
        if digest_title:
            return render.slack_digest_messages(events, f"openwatch {digest_title}", self.limits())
        return render.slack_messages(events, self.limits())

    def send(self, sub: "Subscription", message: Rendered, *, now: datetime) -> Receipt:
        url = str(sub.options["url"])
        limiter = self.transport.limiter(("slack", url), self.MIN_INTERVAL)
        try:
            limiter.wait(now)
        except RateLimited as exc:
            # Not attempted: the outbox defers these deliveries to the slot instead of sleeping.
            raise RateLimited(
                f"{self.target(sub)} is paced: next message allowed in {exc.retry_after:.0f}s",
                retry_after=exc.retry_after,
            ) from None
        body = json.dumps(message.payload, ensure_ascii=False).encode()
        response = self.transport.post(
            url, content=body, headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": self.user_agent()}, secrets=self.secrets(sub)
        )
        if 200 <= response.status_code < 300:
            return Receipt(response.status_code, self.excerpt(response, sub, 100))
        error = self.http_error(response, sub)
        if response.status_code == 429:
            # Every subscription posting to this webhook waits too (they share the limiter).
            wait = error.retry_after if error.retry_after is not None else self.DEFAULT_RETRY_AFTER
            limiter.block_until(now + timedelta(seconds=wait))
        raise error
