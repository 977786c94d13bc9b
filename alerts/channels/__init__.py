"""Alert channels, registered by subclass (`class SlackChannel(Channel): kind = "slack"`).

Importing this package registers every built-in channel; `Channel.registry` maps kind → class
and `channel_help()` gives each channel's user help (its docstring).
"""

from alerts.channels.base import Channel, Receipt, channel_class, channel_help
from alerts.channels.slack import SlackChannel
from alerts.channels.email import EmailChannel
from alerts.channels.webhook import WebhookChannel
from alerts.channels.apprise import AppriseChannel

__all__ = [
    "AppriseChannel",
    "Channel",
    "EmailChannel",
    "Receipt",
    "SlackChannel",
    "WebhookChannel",
    "channel_class",
    "channel_help",
]
