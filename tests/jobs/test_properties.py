"""Properties over generated input (Hypothesis): licence normalisation, durations, the config.

Each holds for every input, not only the tabled ones in test_licenses.py and test_config.py:
scraped licence strings and configuration files are written by people and programs we do not
control. Examples are bounded (`max_examples`) so the whole file runs in seconds.
"""

from __future__ import annotations

import math
import re
import string
from datetime import date, datetime, timezone

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crawler.licenses import CATEGORIES, DIRECTIONS, ORDER, License, direction, normalize, vocabulary
from crawler.sources import all_sources
from alerts.config import SMTP_KEYS, SUBSCRIPTION_KEYS, channel_keys
from jobs.config.durations import MAX_DURATION
from jobs.daemon import DAEMON_KEYS
from jobs.config import Config, format_duration, parse_duration
from jobs.config.loader import DEFAULT_ENDPOINTS, TOP_KEYS, WATCH_KEYS, load_config
from jobs.exceptions import ConfigError

SOURCE_KEYS = {kind: tuple(source.keys) for kind, source in all_sources().items()}  # each source's watch keys
SOURCES = tuple(SOURCE_KEYS)
PROPERTY = settings(max_examples=200, deadline=None)
FILES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- licences ------------------------------------------------------------------------------------

TABLE = vocabulary()
# Every spelling the vocabulary knows for a licence: its id, display name, SPDX id.
SPELLINGS = sorted({(lic.id, text) for lic in TABLE for text in (lic.id, lic.name, lic.spdx) if text})
scraped_text = st.one_of(st.none(), st.text(max_size=120), st.sampled_from([s for _, s in SPELLINGS]))


def _valid(lic: License) -> None:
    assert isinstance(lic, License)
    assert lic.category in CATEGORIES
    assert lic.known is (lic.category != "unknown")
    assert lic.id and lic.id == lic.id.strip() and "\n" not in lic.id


@PROPERTY
@given(hf_id=scraped_text, name=scraped_text, link=scraped_text, spdx=scraped_text, display=scraped_text)
def test_normalize_is_total_and_its_ids_are_fixed_points(hf_id, name, link, spdx, display):
    lic = normalize(hf_id, license_name=name, license_link=link, spdx=spdx, display_name=display)
    _valid(lic)
    # What we store is an id; read back as a card's `license:` it is the same licence.
    again = normalize(lic.id)
    _valid(again)
    assert (again.id, again.category) == (lic.id, lic.category)
    assert normalize(again.id) == again


def _respell(text: str, data) -> str:
    """`text` as a person or a scraper may write it: any case, padded, spaces as `-` or `_`."""
    chars = [c.upper() if data.draw(st.booleans()) else c.lower() for c in text]
    out = "".join(chars)
    out = re.sub(r"[ ]", lambda _: data.draw(st.sampled_from([" ", "  ", "-", "_", "\t"])), out)
    pad = st.sampled_from(["", " ", "\t", "\n ", "  "])
    return data.draw(pad) + out + data.draw(pad)


@PROPERTY
@given(spelling=st.sampled_from(SPELLINGS), data=st.data())
def test_known_spellings_ignore_case_spacing_and_padding(spelling, data):
    lic_id, text = spelling
    variant = _respell(text, data)
    assert TABLE.lookup(variant) is not None, variant
    assert TABLE.lookup(variant).id == lic_id
    assert normalize(variant).id == lic_id  # as a card's `license:`
    assert normalize(None, display_name=variant).id == lic_id


@PROPERTY
@given(st.text(alphabet=string.ascii_letters + string.digits + " -_.+", min_size=1, max_size=60), st.data())
def test_any_ascii_name_ignores_case_and_padding(text, data):
    # Unknown names too: "Foo Licence" and " foo licence " are one custom licence, not two.
    variant = _respell(text, data)
    first, second = normalize("other", license_name=text), normalize("other", license_name=variant)
    assert (first.id, first.category) == (second.id, second.category)


categories = st.one_of(
    st.none(),
    st.sampled_from(CATEGORIES),
    st.sampled_from(CATEGORIES).map(lambda c: f"  {c.upper()} "),
    st.text(max_size=30),
)


@PROPERTY
@given(categories, categories)
def test_direction_is_antisymmetric(a, b):
    forward, backward = direction(a, b), direction(b, a)
    assert forward in DIRECTIONS and backward in DIRECTIONS
    assert (forward == "more_open") == (backward == "more_restrictive")
    assert (forward == "more_restrictive") == (backward == "more_open")
    assert (forward == "lateral") == (backward == "lateral")
    assert (forward == "unclear") == (backward == "unclear")
    ranked = {c: i for i, c in enumerate(ORDER)}
    known_a = a.strip().lower() in ranked if isinstance(a, str) else False
    known_b = b.strip().lower() in ranked if isinstance(b, str) else False
    assert (forward == "unclear") == (not (known_a and known_b))  # unknown, garbage, None -> unclear


@PROPERTY
@given(st.sampled_from(CATEGORIES), st.text(max_size=40))
def test_an_unknown_side_is_always_unclear(category, text):
    other = normalize("other", license_name=text) if text.strip() else normalize(None)
    if other.category == "unknown":
        assert direction(category, other.category) == direction(other.category, category) == "unclear"


# -- durations ---------------------------------------------------------------------------------

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
GRAMMAR = re.compile(r"[ \t]*(?:[0-9]+(?:\.[0-9]+)?[ \t]*[smhdw][ \t]*)+")


@PROPERTY
@given(st.integers(min_value=0, max_value=10**9))
def test_whole_seconds_round_trip(seconds):
    text = format_duration(seconds)
    assert GRAMMAR.fullmatch(text), text
    assert parse_duration(text) == seconds
    assert format_duration(parse_duration(text)) == text


@PROPERTY
@given(st.integers(min_value=0, max_value=10**9), st.sampled_from([0, 0.25, 0.5, 0.75, 0.125]))
def test_binary_fractions_round_trip(whole, fraction):
    seconds = whole + fraction
    assert parse_duration(format_duration(seconds)) == seconds


@PROPERTY
@given(st.integers(min_value=0, max_value=10**12))
def test_milliseconds_round_trip_to_the_millisecond(millis):
    seconds = millis / 1000
    back = parse_duration(format_duration(seconds))
    assert math.isclose(back, seconds, rel_tol=1e-12, abs_tol=5e-4), (seconds, format_duration(seconds), back)


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(sorted(UNITS)), st.sampled_from(["", " ", "\t"])),
                min_size=1, max_size=5))
def test_sums_of_parts_parse_to_their_total(parts):
    text = "".join(f"{n}{space}{unit}{space}" for n, unit, space in parts)
    total = sum(n * UNITS[unit] for n, unit, _ in parts)
    if total <= MAX_DURATION:
        assert parse_duration(text) == total
    else:  # past the documented maximum (timers overflow): refused, never a wrong number
        with pytest.raises(ValueError):
            parse_duration(text)


def _refuses_or_parses(text) -> None:
    try:
        seconds = parse_duration(text)
    except ValueError:
        return
    assert isinstance(text, str) and GRAMMAR.fullmatch(text), f"{text!r} accepted as {seconds}"
    assert math.isfinite(seconds) and seconds >= 0, f"{text!r} accepted as {seconds}"


@PROPERTY
@given(st.one_of(st.text(max_size=40), st.text(alphabet="0123456789.smhdwSMHDW -+e_:,", max_size=20)))
def test_garbage_is_refused(text):
    _refuses_or_parses(text)


@pytest.mark.parametrize("text", ["\u0663\u0660m", "\uff13\uff10m", "9" * 400 + "s"])
def test_non_ascii_digits_and_infinite_durations_are_refused(text):
    _refuses_or_parses(text)


@PROPERTY
@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=10), st.lists(st.text(max_size=3))))
def test_non_strings_are_refused_with_value_error(value):
    with pytest.raises(ValueError):
        parse_duration(value)


# -- the configuration file --------------------------------------------------------------------

SECRET_MARK = "Zq7SECRETmark"  # any value generated for a secret key starts with it

toml_scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["30m", "1s", "0s", "-1m", "${HOME_X}", "${UNSET_VAR}", "$${x}", "${", "registry:CN",
                     "registry:XX", "meta-llama", "a/b", "model:hf/a/b", "daily 09:00", "weekly MON 25:00",
                     "Europe/Paris", "Mars/Olympus", "https://example.org/x", "whsec_", "whsec_AAAA",
                     "model.added", "model.*", "*", "US", "permissive", "huggingface", "webhook", "email"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.datetimes(timezones=st.just(timezone.utc), min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.dates(min_value=date(1, 1, 1)),
    st.times(),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
# A URL's scheme is shown on purpose (`tgram://…(redacted)`), so the mark never stands there.
secret_values = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "/_+=", max_size=30).map(lambda s: SECRET_MARK + s),
    st.text(alphabet=string.ascii_letters + string.digits + "/_", max_size=30).map(
        lambda s: f"tgram://{SECRET_MARK}{s}/chat"),
    st.text(alphabet=string.ascii_letters + string.digits + "/_", max_size=30).map(
        lambda s: f"https://hooks.example.org/{SECRET_MARK}/{s}"),
    st.text(alphabet=string.ascii_letters + string.digits, max_size=30).map(lambda s: f"whsec_{SECRET_MARK}{s}"),
)
SECRET_KEYS = {"url", "secret", "password"}


def table_of(keys, extra=()):
    """A table with some of `keys` (arbitrary values; secret-looking ones for secret keys)."""
    def value_for(key):
        return secret_values if key in SECRET_KEYS else toml_values

    known = st.fixed_dictionaries({}, optional={key: value_for(key) for key in keys})
    return st.tuples(known, st.dictionaries(st.sampled_from(list(extra) or ["nope"]), toml_values, max_size=1)
                     if extra else st.just({})).map(lambda pair: {**pair[0], **pair[1]})


WATCH_TABLE = st.builds(
    lambda table, source, name: {"name": name, "source": source, **table},
    table_of(WATCH_KEYS[2:] + tuple(k for keys in SOURCE_KEYS.values() for k in keys), extra=["evry", "org"]),
    st.one_of(st.sampled_from(SOURCES), toml_scalars),
    st.one_of(st.sampled_from(["labs", "cn-labs", "Labs", ""]), toml_scalars),
)
SUBSCRIPTION_TABLE = st.builds(
    lambda table, channel, name: {"name": name, "channel": channel, **table},
    table_of(SUBSCRIPTION_KEYS[2:] + ("url", "secret", "to"), extra=["event"]),
    st.one_of(st.sampled_from(tuple(channel_keys())), toml_scalars),
    st.one_of(st.sampled_from(["team", "me"]), toml_scalars),
)
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "database": toml_values,
        "feed_path": st.one_of(st.just("events.xml"), toml_values),
        "endpoints": st.one_of(table_of(tuple(DEFAULT_ENDPOINTS)), toml_values),
        "watch": st.one_of(st.lists(WATCH_TABLE, max_size=3), toml_values),
        "smtp": st.one_of(table_of(SMTP_KEYS), toml_values),
        "subscription": st.one_of(st.lists(SUBSCRIPTION_TABLE, max_size=3), toml_values),
        "daemon": st.one_of(table_of(DAEMON_KEYS), toml_values),
        "scrapyd": st.one_of(table_of(("url", "project", "username", "password", "timeout", "poll_interval",
                                       "prior_bind", "prior_url")), toml_values),
        "extra": toml_values,
    },
)

VALID = {
    "database": "openwatch.db",
    "endpoints": {"huggingface": "http://127.0.0.1:9"},
    "watch": [{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "30m"}],
    "smtp": {"host": "localhost", "sender": "ow <ow@localhost>", "password": "${SMTP_PASSWORD}"},
    "subscription": [
        {"name": "team", "channel": "slack", "url": "${SLACK_WEBHOOK_URL}"},
        {"name": "hook", "channel": "webhook", "url": "https://example.org/h", "secret": "${HOOK_SECRET}"},
        {"name": "me", "channel": "email", "to": ["me@example.org"], "digest": "daily 09:00"},
    ],
    "daemon": {"dispatch_every": "5s"},
}
ENVIRON = {
    "SLACK_WEBHOOK_URL": f"https://hooks.slack.com/services/T0/B0/{SECRET_MARK}slack",
    "HOOK_SECRET": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=",
    "SMTP_PASSWORD": f"{SECRET_MARK}smtp",
    "HOME_X": "/home/x",
}
# Every key path of VALID, for replacing one value at a time.
PATHS = [("database",), ("feed_path",), ("endpoints", "huggingface"), ("watch",), ("smtp",), ("subscription",), ("daemon",)]
PATHS += [("watch", 0, key) for key in (*WATCH_KEYS, *(k for keys in SOURCE_KEYS.values() for k in keys))]
PATHS += [("subscription", i, key) for i in range(3) for key in (*SUBSCRIPTION_KEYS, "url", "secret", "to")]
PATHS += [("smtp", key) for key in SMTP_KEYS] + [("daemon", key) for key in DAEMON_KEYS]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("configs")


def _check_load(path, environ=ENVIRON) -> Config | ConfigError:
    """load_config gives a Config or one ConfigError line naming the file; nothing else escapes."""
    try:
        return load_config(path, environ)
    except ConfigError as exc:
        line = str(exc)
        assert "\n" not in line and "\r" not in line, line
        assert line.startswith(str(path)), line
        assert "Traceback" not in line
        assert SECRET_MARK not in line, line
        assert len(line) < 2000, line
        return exc


def _write(folder, name: str, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


@FILES
@given(st.text(max_size=400))
def test_any_text_loads_or_is_one_line_naming_the_file(folder, text):
    _check_load(_write(folder, "text.toml", text.encode("utf-8")))


@FILES
@given(st.binary(max_size=300))
def test_any_bytes_load_or_are_one_line_naming_the_file(folder, data):
    _check_load(_write(folder, "bytes.toml", data))


def _dump(document: dict) -> bytes:
    return tomli_w.dumps(document).encode("utf-8")


@FILES
@given(DOCUMENT)
def test_any_toml_document_loads_or_is_one_line_naming_the_file(folder, document):
    _check_load(_write(folder, "doc.toml", _dump(document)))


def _replace(document, path, value):
    import copy

    out = copy.deepcopy(document)
    target = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return out


def test_the_base_document_is_valid(folder):
    assert isinstance(_check_load(_write(folder, "valid.toml", _dump(VALID))), Config)


def _value_for(path):
    return st.one_of(toml_values, secret_values) if path[-1] in SECRET_KEYS else toml_values


@FILES
@given(st.sampled_from(PATHS).flatmap(lambda path: st.tuples(st.just(path), _value_for(path))))
@example((("watch", 0, "jitter"), "1d"))  # longer than every
@example((("subscription", 1, "secret"), "whsec_!!"))
def test_any_value_for_any_key_loads_or_is_one_line_naming_the_file(folder, change):
    path, value = change
    _check_load(_write(folder, "key.toml", _dump(_replace(VALID, path, value))))


def test_an_infinite_jitter_is_a_config_error(folder):
    document = _replace(VALID, ("watch", 0, "jitter"), "9" * 400 + "s")
    _check_load(_write(folder, "inf.toml", _dump(document)))


@FILES
@given(st.dictionaries(st.sampled_from(["SLACK_WEBHOOK_URL", "HOOK_SECRET", "SMTP_PASSWORD", "HOME_X"]),
                       st.one_of(st.text(max_size=40), secret_values), max_size=4))
def test_any_environment_loads_or_is_one_line_naming_the_file(folder, environ):
    _check_load(_write(folder, "env.toml", _dump(VALID)), environ)


def test_top_level_keys_are_the_documented_ones():
    # The generators above cover every section the loader knows; a new one needs a generator.
    assert set(TOP_KEYS) == {"database", "feed_path", "endpoints", "watch", "smtp", "subscription", "daemon",
                             "scrapyd"}


