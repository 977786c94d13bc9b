"""Backoff schedule, Retry-After, the Slack rate limiter and redaction: injected clocks and a
seeded random source, no sleeping."""

from __future__ import annotations

import logging
import random
import threading
from datetime import timedelta

import pytest

from alerts.backoff import DEFAULT_POLICY, RetryPolicy
from alerts.exceptions import RateLimited
from alerts import redaction
from alerts.redaction import install_log_redaction, redact_secret, redact_url, scrub, scrub_excerpt
from alerts.transport import MAX_RETRY_AFTER, RateLimiter, parse_retry_after
from tests.support.alerts import SLACK_TOKEN, START, WEBHOOK_SECRET, Clock, FakeTime

POLICY = RetryPolicy(base=30, cap=3600, max_attempts=12, max_age=timedelta(hours=24))


def test_ceiling_grows_exponentially_then_caps():
    assert [POLICY.ceiling(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert POLICY.ceiling(500) == 3600  # no overflow


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8, 20])
def test_full_jitter_stays_within_zero_and_the_ceiling(attempts):
    rng = random.Random(attempts)
    delays = [POLICY.delay(attempts, rng) for _ in range(2000)]
    assert all(0 <= d <= POLICY.ceiling(attempts) for d in delays)
    # Full jitter spreads over the whole range, not just near the ceiling.
    assert min(delays) < 0.1 * POLICY.ceiling(attempts)
    assert max(delays) > 0.9 * POLICY.ceiling(attempts)


def test_same_seed_same_schedule():
    a = [POLICY.delay(n, random.Random(42)) for n in range(1, 8)]
    b = [POLICY.delay(n, random.Random(42)) for n in range(1, 8)]
    assert a == b


def test_mean_delay_doubles_until_the_cap():
    rng = random.Random(3)
    means = [sum(POLICY.delay(n, rng) for _ in range(4000)) / 4000 for n in range(1, 10)]
    for n in range(1, 7):
        assert 1.7 < means[n] / means[n - 1] < 2.3
    assert means[8] == pytest.approx(1800, rel=0.1)


@pytest.mark.parametrize("retry_after", [1, 45, 600, 7200])
def test_retry_after_is_a_floor(retry_after):
    rng = random.Random(0)
    for attempts in (1, 2, 9):
        for _ in range(200):
            delay = POLICY.delay(attempts, rng, retry_after)
            assert delay >= retry_after
            assert delay <= max(retry_after, POLICY.ceiling(attempts))


def test_next_attempt_uses_the_injected_clock():
    # After 3 failures the jitter ceiling is 120 s, so a Retry-After of 120 s decides.
    moment = POLICY.next_attempt(3, START, random.Random(1), retry_after=120)
    assert moment == START + timedelta(seconds=120)
    moment = POLICY.next_attempt(1, START, random.Random(1))
    assert START <= moment <= START + timedelta(seconds=30)


def test_gives_up_after_max_attempts():
    assert not POLICY.gives_up(11, START, START)
    assert POLICY.gives_up(12, START, START)


def test_gives_up_after_24_hours_once_tried_a_few_times():
    first_due = START
    assert not POLICY.gives_up(3, first_due, START + timedelta(hours=23, minutes=59))
    assert POLICY.gives_up(3, first_due, START + timedelta(hours=24))
    # A daemon that was stopped for two days does not kill a delivery on its first failure.
    assert not POLICY.gives_up(1, first_due, START + timedelta(days=2))
    assert not POLICY.gives_up(2, first_due, START + timedelta(days=2))


def test_default_policy_retries_for_hours_not_minutes():
    # Expected time to give up (sum of mean delays until max_attempts) is several hours.
    expected = sum(DEFAULT_POLICY.ceiling(n) / 2 for n in range(1, DEFAULT_POLICY.max_attempts))
    assert expected > 4 * 3600
    assert DEFAULT_POLICY.base == 30 and DEFAULT_POLICY.cap == 3600


def test_a_schedule_simulated_with_a_fake_clock_ends_dead_within_a_day_and_a_bit():
    rng = random.Random(11)
    now, attempts = START, 0
    while True:
        attempts += 1
        if POLICY.gives_up(attempts, START, now):
            break
        now = POLICY.next_attempt(attempts, now, rng)
    assert attempts <= POLICY.max_attempts
    assert now - START <= timedelta(hours=24) + timedelta(seconds=POLICY.cap)


# -- Retry-After ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1.0),
        ("120", 120.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("99999999", MAX_RETRY_AFTER),
        ("Mon, 03 Mar 2025 08:02:00 GMT", 120.0),
        ("Mon, 03 Mar 2025 07:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, wall_clock=START.timestamp) == expected


# -- rate limiter -------------------------------------------------------------------------------


def test_limiter_allows_one_message_per_interval():
    fake = FakeTime()
    limiter = RateLimiter(1.0, fake.monotonic, fake.sleep)
    for _ in range(5):
        limiter.wait()
    assert fake.sleeps == [1.0, 1.0, 1.0, 1.0]


def test_limiter_does_not_sleep_when_time_has_passed():
    fake = FakeTime()
    limiter = RateLimiter(1.0, fake.monotonic, fake.sleep)
    limiter.wait()
    fake.t += 5
    limiter.wait()
    fake.t += 0.25
    limiter.wait()
    assert fake.sleeps == [0.75]


def test_limiter_never_sleeps_out_a_retry_after_it_says_how_long_instead():
    fake = FakeTime()
    clock = Clock()
    limiter = RateLimiter(1.0, fake.monotonic, fake.sleep)
    limiter.wait(clock())
    limiter.block_until(clock() + timedelta(hours=24))  # a 429's Retry-After
    for _ in range(3):
        with pytest.raises(RateLimited) as raised:
            limiter.wait(clock())
        assert raised.value.retry_after == pytest.approx(24 * 3600)
        assert raised.value.retryable
    assert fake.sleeps == []  # nothing slept, no slot taken
    clock.advance(hours=24)
    fake.t += 5
    limiter.wait(clock())
    assert fake.sleeps == []


def test_limiter_sleeps_a_retry_after_shorter_than_its_interval():
    fake = FakeTime()
    clock = Clock()
    limiter = RateLimiter(1.0, fake.monotonic, fake.sleep)
    limiter.block_until(clock() + timedelta(seconds=0.5))
    limiter.wait(clock())
    assert fake.sleeps == [0.5]
    limiter.block_until(clock() + timedelta(seconds=1.5))
    with pytest.raises(RateLimited):
        limiter.wait(clock())


def test_limiter_pacing_is_shared_by_threads_and_never_sleeps_long():
    fake = FakeTime()
    limiter = RateLimiter(1.0, fake.monotonic, lambda s: None)  # time stands still
    outcomes = []

    def send():
        try:
            outcomes.append(limiter.wait())
        except RateLimited as exc:
            outcomes.append(("limited", round(exc.retry_after)))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o for o in outcomes if not isinstance(o, tuple)) == [0.0, 1.0]
    assert sorted(o for o in outcomes if isinstance(o, tuple)) == [("limited", 2), ("limited", 2)]


# -- redaction ----------------------------------------------------------------------------------

SLACK_URL = f"https://hooks.slack.com/services/{SLACK_TOKEN}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (SLACK_URL, "https://hooks.slack.com/…"),
        ("http://127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080/…"),
        ("https://user:pw@example.org/x", "https://example.org/…"),
        ("https://example.org", "https://example.org"),
        ("tgram://123456:ABCDEF/chat", "tgram://…"),
        ("", ""),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_secret_keeps_only_the_prefix():
    assert redact_secret(WEBHOOK_SECRET) == "whsec_…"
    assert redact_secret("hunter22") == "…"


def test_scrub_removes_known_secrets_and_url_paths():
    text = f"POST {SLACK_URL} failed; secret {WEBHOOK_SECRET}; password hunter22\r\nnext line"
    out = scrub(text, [SLACK_URL, WEBHOOK_SECRET, "hunter22"])
    assert SLACK_TOKEN.split("/")[-1] not in out
    assert WEBHOOK_SECRET not in out and "hunter22" not in out
    assert "\n" not in out and "hooks.slack.com" in out


def test_httpx_request_logs_are_redacted(caplog):
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info('HTTP Request: %s %s "%s %d %s"', "POST", SLACK_URL, "HTTP/1.1", 200, "OK")
    assert "XyZsEcReTtOkEn123" not in caplog.text
    assert "hooks.slack.com/…" in caplog.text


@pytest.mark.parametrize(
    ("echo", "gone"),
    [
        # A receiver echoing only part of its URL: each long path segment is a secret of its own.
        ("Cannot POST /services/T0SECRET/B0SECRET/XyZs", ["T0SECRET", "B0SECRET"]),
        ("token XyZsEcReTtOkEn123 is revoked", ["XyZsEcReTtOkEn123"]),
        # Query values, raw and decoded.
        ("bad key s3cr3t-qu%2Bery", ["s3cr3t-qu%2Bery"]),
        ("bad key s3cr3t-qu+ery", ["s3cr3t-qu+ery"]),
        # Other schemes: every long piece after the scheme.
        ("unknown topic mysecrettopic", ["mysecrettopic"]),
    ],
)
def test_scrub_removes_the_pieces_of_secret_urls_echoed_alone(echo, gone):
    secrets = [SLACK_URL, "https://example.org/hook?key=s3cr3t-qu%2Bery&v=1", "ntfy://mysecrettopic"]
    out = scrub(echo, secrets)
    for piece in gone:
        assert piece not in out


def test_scrub_leaves_short_pieces_and_ordinary_text_alone():
    assert scrub("retry in 1 s: queue full", ["https://example.org/a/hook?v=1"]) == "retry in 1 s: queue full"


@pytest.mark.parametrize("cut", [150, 190, 199, 200, 210])
def test_scrub_excerpt_scrubs_before_it_cuts(cut):
    secret = SLACK_TOKEN.split("/")[-1]
    body = "x" * (cut - 30) + f" Cannot POST /services/{SLACK_TOKEN} " + "y" * 300
    out = scrub_excerpt(body, [SLACK_URL], 200)
    assert len(out) <= 200
    assert not [secret[:n] for n in range(4, len(secret) + 1) if secret[:n] in out]


def test_scrub_excerpt_drops_a_secret_straddling_the_scrubbed_window():
    # Only the first EXCERPT_INPUT characters are scrubbed. A body of echoed paths: the one
    # cut at the window's end must not survive as an unscrubbed prefix (scrubbing shrinks what
    # comes before it, so it could otherwise reach the excerpt).
    path = f"/services/{SLACK_TOKEN}"
    pieces = ["services", *SLACK_TOKEN.split("/")]
    body = (path + " ") * (2 * redaction.EXCERPT_INPUT // len(path))
    for shift in range(len(path) + 1):
        out = scrub_excerpt("z" * shift + body, [SLACK_URL], 10**6)
        assert out.startswith("z" * shift + "/… /…")
        assert not [p[:n] for p in pieces for n in range(4, len(p) + 1) if p[:n] in out], shift


def test_scrub_excerpt_is_one_line_without_control_characters():
    assert scrub_excerpt("ok\r\n\x1b[31mred\x00 done", [], 100) == "ok [31mred done"
