"""Which subscription hears which event (pure), and the channel registry."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from alerts.channels import Channel, channel_class, channel_help
from alerts.exceptions import UnknownChannel
from alerts.subscriptions import matches, matching
from crawler.events import DEFAULT_SUBSCRIBED, EVENT_TYPES
from alerts.types import Subscription
from tests.support.alerts import event


def sub(**overrides) -> Subscription:
    fields = dict(
        name="team",
        channel="slack",
        events=frozenset(DEFAULT_SUBSCRIBED),
        orgs=None,
        countries=None,
        categories=None,
        watches=None,
        models=None,
        digest=None,
        enabled=True,
        options=MappingProxyType({"url": "https://hooks.slack.com/services/x"}),
    )
    return Subscription(**(fields | overrides))


LICENCE = dict(license_before="apache-2.0", license_after="cc-by-nc-4.0",
               category_before="permissive", category_after="non-commercial", direction="more_restrictive")

CASES = [
    # (id, subscription overrides, event kwargs, expected)
    ("no filters, default types", {}, {}, True),
    ("model.updated is off by default", {}, {"type": "model.updated"}, False),
    ("type listed", {"events": frozenset({"model.removed"})}, {"type": "model.removed"}, True),
    ("type not listed", {"events": frozenset({"model.removed"})}, {"type": "model.added"}, False),
    ("org matches case-insensitively", {"orgs": frozenset({"qwen"})}, {"org": "Qwen"}, True),
    ("org filter lower-case vs upper event", {"orgs": frozenset({"deepseek-ai"})}, {"org": "DeepSeek-AI"}, True),
    ("other org", {"orgs": frozenset({"meta-llama"})}, {"org": "deepseek-ai"}, False),
    ("no org on event with org filter", {"orgs": frozenset({"meta-llama"})}, {"org": None}, False),
    ("country matches", {"countries": frozenset({"CN"})}, {"country": "CN"}, True),
    ("country matches lower-case", {"countries": frozenset({"CN"})}, {"country": "cn"}, True),
    ("other country", {"countries": frozenset({"US"})}, {"country": "CN"}, False),
    ("unknown country", {"countries": frozenset({"US"})}, {"country": None}, False),
    ("category after", {"categories": frozenset({"non-commercial"})},
     {"type": "model.license_changed", **LICENCE}, True),
    ("category before", {"categories": frozenset({"permissive"})},
     {"type": "model.license_changed", **LICENCE}, True),
    ("category neither side", {"categories": frozenset({"copyleft"})},
     {"type": "model.license_changed", **LICENCE}, False),
    ("current category of the item", {"categories": frozenset({"permissive"})},
     {"type": "model.added", "category": "permissive"}, True),
    ("no category known", {"categories": frozenset({"permissive"})}, {"type": "model.added"}, False),
    ("watch matches", {"watches": frozenset({"labs"})}, {"watch": "labs"}, True),
    ("other watch", {"watches": frozenset({"papers"})}, {"watch": "labs"}, False),
    ("model listed", {"models": frozenset({"model:hf/deepseek-ai/DeepSeek-V3.2"})},
     {"name": "DeepSeek-V3.2"}, True),
    ("model not listed", {"models": frozenset({"model:hf/deepseek-ai/DeepSeek-V3.2"})},
     {"name": "DeepSeek-R1"}, False),
    ("all filters at once", {"orgs": frozenset({"deepseek-ai"}), "countries": frozenset({"CN"}),
                             "watches": frozenset({"labs"}), "events": frozenset({"model.added"})}, {}, True),
    ("one filter of several fails", {"orgs": frozenset({"deepseek-ai"}), "countries": frozenset({"US"})}, {}, False),
    ("disabled matches nothing", {"enabled": False}, {}, False),
    ("source events ignore item filters", {"orgs": frozenset({"meta-llama"}), "countries": frozenset({"US"})},
     {"type": "source.failing", "org": None, "country": None}, True),
    ("source events keep the watch filter", {"watches": frozenset({"papers"})},
     {"type": "source.recovered", "org": None}, False),
    ("empty filter matches nothing", {"orgs": frozenset()}, {}, False),
]


@pytest.mark.parametrize(("overrides", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches(overrides, kwargs, expected):
    assert matches(sub(**overrides), event(**kwargs)) is expected


def test_matching_keeps_config_order():
    subs = [sub(name="a"), sub(name="b", orgs=frozenset({"meta-llama"})), sub(name="c")]
    assert [s.name for s in matching(subs, event(org="deepseek-ai"))] == ["a", "c"]


def test_every_event_type_can_be_subscribed():
    everything = sub(events=frozenset(EVENT_TYPES))
    for type_ in EVENT_TYPES:
        assert matches(everything, event(type=type_))


def test_registry_entries_are_complete():
    assert set(Channel.registry) == {"slack", "email", "webhook", "apprise"}
    for kind, cls in Channel.registry.items():
        assert cls.kind == kind
        assert channel_class(kind) is cls
        assert cls.__doc__ and cls.__doc__.strip(), f"{kind} needs user help in its docstring"
        assert isinstance(cls.required_options, tuple) and cls.required_options
        assert isinstance(cls.grouped, bool)
        assert callable(cls.render) and cls.render is not Channel.render
        assert callable(cls.send) and cls.send is not Channel.send
    assert channel_help()["slack"].startswith("Post to a Slack channel")
    assert Channel.registry["slack"].MAX_BLOCKS == 50
    assert Channel.registry["slack"].MAX_SECTION_CHARS == 3000


def test_unknown_channel_names_the_known_ones():
    with pytest.raises(UnknownChannel, match="known: apprise, email, slack, webhook"):
        channel_class("pager")


def test_registering_a_kind_twice_is_refused():
    with pytest.raises(TypeError, match="registered twice"):
        type("Imposter", (Channel,), {"kind": "slack", "__doc__": "x"})
