"""Email over SMTP (the `[smtp]` section of openwatch.toml): the channel and its messages
(subject, plain text, HTML autoescaped by jinja2)."""

from __future__ import annotations

import functools
import re
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from dataclasses import dataclass
from email.utils import format_datetime, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import quote

from alerts.channels.base import Channel, Receipt
from alerts.exceptions import ChannelConfigError, DeliveryError
from alerts.redaction import one_line, scrub
from alerts.types import Rendered

if TYPE_CHECKING:
    import jinja2
    from alerts.types import Smtp, Subscription


# Headers are not folded (RFC 5322 allows 998 characters; subjects are capped at 200): Python
# folds "a → b" as "a \r\n =?utf-8?b?…?= b", which mail readers unfold to "a  → b".
WIRE_POLICY = SMTP_POLICY.clone(max_line_length=998)


def _recipients(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    return [one_line(v) for v in (value or []) if one_line(v)]


def _reply(code: Any, message: Any) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return one_line(f"{code} {text}")


@functools.cache
def _templates() -> "jinja2.Environment":
    """The template environment, built on first use (jinja2 too: reading a config loads no
    templates). Autoescape is on for `.html` templates."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("alerts", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class EmailParts:
    subject: str
    text: str
    html: str


def email_parts(
    events: Sequence[Mapping[str, Any]],
    *,
    subscription: str,
    digest_title: str | None = None,
) -> EmailParts:
    """Subject, plain text and HTML (autoescaped) for one event, a burst or a digest."""
    from alerts.render import SUBJECT_PREFIX, email_subject, event_view, group_events

    subject = email_subject(events, digest_title=digest_title)
    context = {
        "subject": subject,
        "title": subject.removeprefix(SUBJECT_PREFIX).strip(),
        "single": len(events) == 1 and not digest_title,
        "event": event_view(events[0]) if events else None,
        "groups": group_events(events),
        "count": len(events),
        "digest": bool(digest_title),
        "subscription": one_line(subscription),
    }
    env = _templates()
    return EmailParts(
        subject=subject,
        text=env.get_template("email.txt").render(context),
        html=env.get_template("email.html").render(context),
    )



class EmailChannel(Channel):
    """Send email through the SMTP server of the [smtp] section.

    Options: to = ["me@example.org", …]. One event becomes one email whose subject says what
    happened; a burst becomes one email (up to 500 events); a digest one email grouped by type
    and org. Plain text and HTML. A 4xx SMTP reply, a timeout or a refused connection is
    retried with backoff; a 5xx reply (unknown recipient, authentication failed) is a refusal
    (dead letter). Unsubscribe by removing the subscription from openwatch.toml.
    """

    kind = "email"
    keys = ("to",)
    required_options = ("to",)
    needs_smtp = True
    MAX_EVENTS = 500  # per email; larger bursts are split

    @classmethod
    def options(cls, read: Any) -> dict[str, Any]:
        to = read.string_list("to", example='["me@example.org"]')
        for i, address in enumerate(to):
            if "@" not in parseaddr(address)[1]:
                raise read.error(("to", i), f"{read.show(address)} is not an email address",
                                 'write e.g. "me@example.org"')
        return {"to": tuple(to)}

    def smtp(self) -> "Smtp":
        """The settings' `[smtp]` (the config refuses an email subscription without one)."""
        smtp = self.settings.smtp if self.settings else None
        if smtp is None:
            raise ChannelConfigError("the email channel needs an [smtp] section in openwatch.toml")
        return smtp

    def target(self, sub: "Subscription") -> str:
        return ", ".join(_recipients(sub.options.get("to")))

    def render(
        self, sub: "Subscription", events: Sequence[Mapping[str, Any]], *, digest_title: str | None
    ) -> list[Rendered]:
        if digest_title:
            chunks = [list(events)]
        else:
            chunks = [list(events[i : i + self.MAX_EVENTS]) for i in range(0, len(events), self.MAX_EVENTS)]
        return [
            Rendered(
                tuple(e["id"] for e in chunk),
                email_parts(chunk, subscription=sub.name, digest_title=digest_title),
            )
            for chunk in chunks
            if chunk
        ]

    def build(self, sub: "Subscription", parts: EmailParts, *, now: datetime) -> EmailMessage:
        smtp = self.smtp()
        sender = parseaddr(smtp.sender)[1] or smtp.sender
        domain = sender.rpartition("@")[2] or "localhost"
        msg = EmailMessage()
        msg["From"] = smtp.sender
        msg["To"] = ", ".join(_recipients(sub.options.get("to")))
        msg["Subject"] = one_line(parts.subject)
        msg["Date"] = format_datetime(now)
        msg["Message-ID"] = make_msgid(idstring="openwatch", domain=domain)
        # RFC 2369: a mailto: the operator can act on; the real switch is openwatch.toml (footer).
        subject = quote(f"unsubscribe {sub.name}")
        msg["List-Unsubscribe"] = f"<mailto:{sender}?subject={subject}>"
        list_id = re.sub(r"[^A-Za-z0-9-]+", "-", sub.name).strip("-") or "subscription"
        msg["List-Id"] = f"openwatch {one_line(sub.name)} <{list_id}.openwatch.{domain}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
        msg["X-Openwatch-Subscription"] = one_line(sub.name)
        msg.set_content(parts.text)
        msg.add_alternative(parts.html, subtype="html")
        return msg

    def connect(self) -> smtplib.SMTP:
        smtp = self.smtp()
        context = ssl.create_default_context()
        if smtp.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        try:
            client.ehlo()
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=context)
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, sub: "Subscription", message: Rendered, *, now: datetime) -> Receipt:
        recipients = _recipients(sub.options.get("to"))
        msg = self.build(sub, message.payload, now=now)
        sender = parseaddr(self.smtp().sender)[1] or self.smtp().sender
        try:
            return self._transmit(msg, sender, recipients)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{rcpt}: {_reply(*answer)}" for rcpt, answer in exc.recipients.items())
            raise DeliveryError(
                f"SMTP refused every recipient: {scrub(detail, self.secrets(sub))}",
                retryable=any(400 <= c < 500 for c in codes),
                status=min(codes) if codes else None,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise DeliveryError(
                f"SMTP {self._where()} answered {scrub(_reply(code, exc.smtp_error), self.secrets(sub))}",
                retryable=not (500 <= code < 600),
                status=code,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise ChannelConfigError(f"SMTP {self._where()}: {scrub(exc, self.secrets(sub))}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise ChannelConfigError(f"SMTP {self._where()}: certificate not trusted ({exc.verify_message})") from exc
        except (smtplib.SMTPException, OSError) as exc:
            reason = scrub(exc, self.secrets(sub)) or type(exc).__name__
            raise DeliveryError(f"SMTP {self._where()} unreachable: {reason}", retryable=True) from exc

    def _where(self) -> str:
        smtp = self.smtp()
        return f"{smtp.host}:{smtp.port}"

    def _transmit(self, msg: EmailMessage, sender: str, recipients: list[str]) -> Receipt:
        """MAIL, RCPT, DATA by hand (not `send_message`) to report the server's final reply."""
        client = self.connect()
        try:
            code, answer = client.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, answer, sender)
            refused = {}
            for rcpt in recipients:
                code, answer = client.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = (code, answer)
            if len(refused) == len(recipients):
                client.rset()
                raise smtplib.SMTPRecipientsRefused(refused)
            code, answer = client.data(msg.as_bytes(policy=WIRE_POLICY))
            if code != 250:
                raise smtplib.SMTPDataError(code, answer)
            detail = _reply("", answer)
            if refused:
                detail += " (refused: " + ", ".join(f"{r} {c}" for r, (c, _) in refused.items()) + ")"
            return Receipt(code, detail)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
