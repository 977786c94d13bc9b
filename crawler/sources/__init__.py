"""The source registry: one class per source, found by its `kind` (DESIGN.md, "Sources").

A source declares its `[[watch]]` keys and validates them, names its spider, the item kinds
it produces (key prefix, volatile counters, what counts as a change, the events it makes) and
how those events read. Config, runner, store, diff, rendering and `status` go through this
registry and know no source by name; adding a source is a module of its own (and a spider).

Built-in sources are the modules of this package, found the way an extra one is: every
module below `crawler/sources/` is imported, and so is every module named in
`$OPENWATCH_PLUGINS` (comma-separated) or registered under the `openwatch.sources` entry
point group. Defining a `Source` subclass with a `kind` registers it.

    Source                 a kind of watch: options, units, spider, item kinds, events
    ItemKind               a kind of item: key prefix, fingerprint, normalise, diff, evidence
    EventType              an event type: nouns and the one-line headline alerts show
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, ClassVar, Iterable, Mapping

from crawler.exceptions import OpenwatchError

PLUGINS_ENV = "OPENWATCH_PLUGINS"
ENTRY_POINT_GROUP = "openwatch.sources"


class SourceError(OpenwatchError):
    """A source that does not exist, or a registry entry that is not well formed."""


@dataclass(frozen=True)
class EventType:
    """How an event type reads: `noun`/`plural` for counts and headings, `headline(event)` for
    one plain (unescaped) line such as "deepseek-ai released DeepSeek-V4"."""

    type: str
    noun: str
    plural: str
    headline: Callable[[Mapping[str, Any]], str] | None = None
    licence: bool = False          # a licence change: alerts show before → after and direction
    default: bool = True           # in a subscription without `events`
    help: str = ""                 # when it happens (README, `openwatch alerts channels`)


# Events every source can raise through the scheduler (source health).
CORE_EVENTS = (
    EventType("source.failing", "failing source", "failing sources",
              lambda e: f"Watch {e.get('watch')} is failing",
              help="a watch failed `failing_after` times in a row"),
    EventType("source.recovered", "recovered source", "recovered sources",
              lambda e: f"Watch {e.get('watch')} recovered",
              help="the first success of a failing watch"),
)


@dataclass(frozen=True)
class Context:
    """Where an event happens: the item, the watch, its URL, org and country, when."""

    key: str
    watch: str
    url: str | None
    org: str | None
    country: str | None
    detected_at: str
    seq: int  # the new snapshot's ordinal for this key: part of every dedupe key
    links: tuple[str, ...] = ()


class ItemKind:
    """One kind of tracked item. Subclass per kind; instances are stateless and shared.

    The store calls, per batch: `fingerprint(raw)` for every observation (equal to the stored
    one: nothing changed, only `counters(raw)` are refreshed), then `normalise(raw)` and the
    diff methods only for what changed. A field the raw object does not carry is left out of
    `normalise`'s result: the store keeps its last known value (unknown is never a change).
    """

    name: ClassVar[str] = ""            # model | repo | release | paper | post
    prefix: ClassVar[str] = ""          # key prefix, e.g. "model:hf/"
    version: ClassVar[int] = 1          # normaliser version: a new one re-normalises once
    counter_fields: ClassVar[tuple[str, ...]] = ()  # raw keys that are volatile counters
    quiet: ClassVar[tuple[str, ...]] = ()  # fields kept current but never a snapshot or event
    removable: ClassVar[bool] = False   # removal rules apply (hub models): direct checks
    has_files: ClassVar[bool] = False   # carries LICENSE-like texts (stored by content hash)
    endpoint: ClassVar[str] = ""        # the [endpoints] key its web URLs are built on
    # What a field no answer has carried yet reads at an item's first sight (a model seen
    # without any licence: `unknown`, as a card without one). Later answers that lack the
    # field change nothing: the store keeps the last known value.
    first_sight: ClassVar[Mapping[str, Any]] = {}

    def fingerprint(self, raw: Mapping[str, Any]) -> str:
        """A cheap digest of everything but the counters (and the normaliser version)."""
        stable = {k: v for k, v in raw.items() if k not in self.counter_fields}
        text = json.dumps(stable, sort_keys=True, default=str, separators=(",", ":"))
        return f"{self.version}:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def counters(self, raw: Mapping[str, Any]) -> dict[str, int]:
        """The counters the raw object carried as integers SQLite can hold (64-bit)."""
        out = {}
        for name in self.counter_fields:
            value = raw.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63:
                out[name] = value
        return out

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def org(self, fields: Mapping[str, Any]) -> str | None:
        return fields.get("org")

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        return fields.get("url")

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple]:
        """Evidenced relations this item's own fields show: (other key, relation, evidence),
        from this item to the other; a fourth element "in" turns it round (other -> this)."""
        return []

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The `items` columns besides key, state and bookkeeping."""
        return {"name": fields.get("name") or fields.get("title"), "license": fields.get("license"),
                "license_category": fields.get("license_category"), "gated": None, "sha": fields.get("sha")}

    def added(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        return []

    def changed(self, ctx: Context, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict]:
        return []

    def removed(self, ctx: Context, last: Mapping[str, Any], detail: str) -> list[dict]:
        return []

    def restored(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        return []

    def renamed(self, ctx: Context, old_key: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict]:
        return []

    # -- evidence: hooks a kind implements when its items carry it (hub models do) -----------

    def merge_files(self, fields: dict[str, Any], files: Mapping[str, Mapping[str, Any]] | None,
                    previous: Mapping[str, Any] | None, keep: Callable[[str], str]) -> list[str]:
        """Fold the texts an observation fetched into `fields` (`files`: name -> `{status,
        text, etag, error}`; None: none fetched this crawl), given the last known fields.
        `keep(text)` stores a text by content and returns its sha256. Returns one error line
        per file that could not be read. The default: a kind without files, nothing to do."""
        return []

    def before_diff(self, previous: Mapping[str, Any], fields: Mapping[str, Any]) -> Mapping[str, Any]:
        """`previous` as `changed` compares it with `fields` (the default: as it is)."""
        return previous

    def openness(self, fields: Mapping[str, Any],
                 code: Iterable[Mapping[str, Any]] = ()) -> tuple[str, list[str]] | None:
        """How open the item is, from its fields and those of the repos linked as its code:
        `(level, evidence)`; None (the default) for a kind without an openness level."""
        return None

    def text_changes(self, event: Mapping[str, Any]) -> tuple[Mapping[str, str], Mapping[str, str]] | None:
        """For an event that changes texts the store keeps (LICENSE files): `(before, after)`,
        each `{file name: sha256 of its text}`, whose unified diff the event carries as
        `data.diff`; None (the default) for any other event."""
        return None


class Source:
    """One kind of watch. The class docstring is the user help (`openwatch sources`)."""

    kind: ClassVar[str] = ""
    keys: ClassVar[tuple[str, ...]] = ()            # its own [[watch]] keys
    endpoints: ClassVar[dict[str, str]] = {}        # [endpoints] keys it uses -> default URL
    item_kinds: ClassVar[tuple[ItemKind, ...]] = ()
    events: ClassVar[tuple[EventType, ...]] = ()
    spider: ClassVar[str] = ""                      # "package.module.SpiderClass"
    settings: ClassVar[dict[str, Any]] = {}         # Scrapy settings for its crawls (pacing)
    order: ClassVar[int] = 100                      # listing order (help, event types)

    _registry: ClassVar[dict[str, type["Source"]]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.kind:
            Source._registry[cls.kind] = cls

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        """Validate this source's keys of one `[[watch]]`. `read` is the config's reader:
        `read.string(key, example=…)`, `read.string_list`, `read.orgs`, `read.urls`,
        `read.integer`, `read.has(key)`, `read.error(key, problem, fix)` (file:line errors)."""
        return {}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        """The watched units, each baselined on its own (orgs, repos, the query, the feeds)."""
        return ()

    # -- crawling -----------------------------------------------------------------------

    @classmethod
    def crawl_settings(cls, watch) -> dict[str, Any]:
        """Scrapy settings for one crawl of `watch` (the class's `settings` unless it says more)."""
        return dict(cls.settings)

    @classmethod
    def spider_class(cls):
        module, _, name = cls.spider.rpartition(".")
        return getattr(importlib.import_module(module), name)

    @classmethod
    def endpoint_key(cls) -> str | None:
        """The `[endpoints]` key its requests go to: the first it declares (None: it has none,
        its watches name their own URLs)."""
        return next(iter(cls.endpoints), None)

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        """Keyword arguments of the spider for one crawl of `watch` (JSON-serialisable)."""
        args = {"watch": watch.name, "units": list(watch.units), "prior": prior}
        if cls.endpoints:
            args["endpoint"] = endpoints.get(cls.endpoint_key())
        return args

    @classmethod
    def watchlist_args(cls, watch, subscriptions) -> dict[str, Any]:
        """Spider arguments from the subscriptions' `models` watchlists (none by default)."""
        return {}

    @classmethod
    def complete_read(cls, unit: Mapping[str, Any], options: Mapping[str, Any],
                      now: datetime) -> str | datetime | None:
        """When a watch with `options` next reads `unit` completely (`unit`: its `units` row,
        `state` parsed), for `status`: a time, "every crawl" or "next crawl"; None (the
        default) for a watch whose every crawl reads its units completely."""
        return None

    @classmethod
    def prior(cls, store, watch) -> dict:
        """What the spider must know of the past (from the history store), per unit."""
        return store.prior_state(watch.name, watch.units, source=cls.kind)

    # -- items --------------------------------------------------------------------------

    @classmethod
    def item_kind(cls, name: str) -> ItemKind:
        for kind in cls.item_kinds:
            if kind.name == name:
                return kind
        raise SourceError(f"source {cls.kind!r} has no item kind {name!r}")


# ------------------------------------------------------------------------------------------
# Finding entries

_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    for name in filter(None, (n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise SourceError(f"{PLUGINS_ENV}: cannot import {name!r}: {exc}; fix the module name or unset it") from exc
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()


def all_sources() -> dict[str, type[Source]]:
    _load()
    return dict(sorted(Source._registry.items(), key=lambda kv: (kv[1].order, kv[0])))


def source_for(kind: str) -> type[Source]:
    sources = all_sources()
    try:
        return sources[kind]
    except KeyError:
        raise SourceError(f"unknown source {kind!r}; known: {', '.join(sources)}") from None


def item_kind_for_key(key: str) -> tuple[type[Source], ItemKind] | None:
    """The source and item kind a key belongs to, by prefix (longest prefix wins)."""
    best = None
    for source in all_sources().values():
        for kind in source.item_kinds:
            if kind.prefix and key.startswith(kind.prefix) and (best is None or len(kind.prefix) > len(best[1].prefix)):
                best = (source, kind)
    return best


def event_types() -> dict[str, EventType]:
    """Every event type: each source's, in registry order, then source health."""
    out: dict[str, EventType] = {}
    for source in all_sources().values():
        for event in source.events:
            out.setdefault(event.type, event)
    for event in CORE_EVENTS:
        out.setdefault(event.type, event)
    return out


def event_type(type_: str) -> EventType | None:
    return event_types().get(type_)


def key_prefixes() -> tuple[str, ...]:
    return tuple(kind.prefix for source in all_sources().values() for kind in source.item_kinds if kind.prefix)


BARE_SOURCE = "huggingface"  # DESIGN.md: a bare `owner/name` means the Hugging Face model


def item_key(text: str) -> str:
    """The item key a user means: a full key as it is, a hub URL (`https://huggingface.co/o/n`)
    or a bare `owner/name` as that hub's model."""
    text = text.strip()
    if ":" in text.split("/", 1)[0] and not text.startswith(("http:", "https:")):
        return text
    for source in all_sources().values():
        for kind in source.item_kinds:
            web = getattr(kind, "web_default", "")
            if not web:
                continue
            host = web.split("://", 1)[-1]
            for prefix in (web + "/", "http://" + host + "/", host + "/"):
                if text.startswith(prefix):
                    return kind.key("/".join(text.removeprefix(prefix).split("/")[:2]))
    kind = source_for(BARE_SOURCE).item_kinds[0]
    return kind.key(text)


def ordered(names: Iterable[str]) -> list[str]:
    """`names` in registry order of event types (unknown ones last, alphabetically)."""
    order = {t: i for i, t in enumerate(event_types())}
    return sorted(names, key=lambda t: (order.get(t, len(order)), t))
