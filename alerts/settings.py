"""What the alerts package needs of the app's configuration, and nothing more.

`jobs` builds one `AlertSettings` from `openwatch.toml` (`Config.alerts`) and hands it to the
outbox, the channels and the CLI's alert commands; alerts never read the whole config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from alerts.exceptions import UnknownSubscription
from alerts.types import Smtp, Subscription
from crawler.identity import user_agent as default_user_agent


@dataclass(frozen=True)
class AlertSettings:
    """The subscriptions (in config order), the mail server, and the User-Agent to send."""

    subscriptions: tuple[Subscription, ...] = ()
    smtp: Smtp | None = None
    user_agent: str = ""
    #: The error for a name no subscription has (the app's own, with its list of known names).
    unknown: Callable[[str], Exception] = field(default=lambda name: UnknownSubscription(
        f"no subscription {name!r}"), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.user_agent:
            object.__setattr__(self, "user_agent", default_user_agent())

    def subscription(self, name: str) -> Subscription:
        """The subscription called `name`; `self.unknown(name)` if none."""
        for sub in self.subscriptions:
            if sub.name == name:
                return sub
        raise self.unknown(name)
