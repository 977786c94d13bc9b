"""Properties of the diff (Hypothesis), for every item kind of every registered source.

The diff is what `Store._changed` does with one observation: the kind's `fingerprint(raw)`
(equal to the stored one: nothing changed), else `normalise(raw)`, `merge_known` with the
stored fields (read back from `items.data`, JSON), the LICENSE-file bookkeeping of kinds
with files, the openness of models, then `changed(ctx, before, after)` when the content
hash moved. `stored()` below follows those steps; `test_the_store_does_what_stored_says`
runs the real store on a SQLite file and checks that it makes the events `stored()` predicts.

Raw observations are drawn shaped like each spider's own (`Observation.raw`): the Hub's JSON
object for Hugging Face (the emulator's and the API's keys), the parser's fields for every
other source, made by the source's real parser from a drawn answer. Drawn answers carry
hostile values: null where a string is expected, wrong types, huge and odd strings, lone
surrogates, missing keys. Parametrised over the registry: a new source's kinds are tested
as soon as they register (with any JSON object, until a strategy shaped like its spider's
raw is added to `SPECS`).
"""

from __future__ import annotations

import json
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crawler.diff import Context, changed_fields, merge_known
from crawler.history.schema import connect
from crawler.history.store import Store
from crawler.items import Batch, Observation, UnitEnd
from crawler.normalize import content_hash
from crawler.openness import openness
from crawler.sources import ItemKind, all_sources
from crawler.sources import arxiv as ax
from crawler.sources import feed as fd
from crawler.sources import github as gh
from crawler.sources import hf_papers as hp
from crawler.sources import modelscope as ms
from crawler.sources._models import FILE_BOOKKEEPING
from crawler.sources._models import readable_before as _readable_before
from crawler.sources._parsing import ParseError
from crawler.sources.huggingface import HubModel

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STORE = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = "2026-12-02T00:00:00.000000Z"

# -- hostile values ------------------------------------------------------------------------------

ODD = st.sampled_from([
    "", " ", "\n\t", "\x00", "\ud800", "a\udfffb", "<!channel>", "<script>x</script>", "\u202eevil", "é", "日本語",
    "💥", "null", "None", "0", "false", "x" * 5000, "L" * 70_000,
])
TEXT = st.one_of(st.text(max_size=12), ODD)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), TEXT)
HOSTILE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=6), inner, max_size=3), max_leaves=6)


def real(*values: Any) -> st.SearchStrategy:
    """Mostly one of the real-shaped `values`, sometimes anything a hostile answer may hold."""
    pool = st.sampled_from(values)
    return st.one_of(pool, pool, pool, HOSTILE)


STAMPS = ("2025-01-01T00:00:00.000Z", "2025-06-01T12:30:00Z", "2022-03-02T23:29:04.000Z", "2024-05-01T10:00:00+08:00")
SHAS = ("a" * 40, "b" * 40, "c" * 40)
HF_LICENCES = ("apache-2.0", "mit", "llama3.1", "other", "cc-by-nc-4.0", "gpl-3.0", "openrail")
TIMES = (time.struct_time((2025, 1, 2, 3, 4, 5, 3, 2, 0)), time.struct_time((2024, 12, 31, 23, 59, 59, 1, 366, 0)))


# -- what each kind's spider hands the store -----------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """How to draw one kind's raw observations the way its spider makes them.

    `answer(identity)` draws what the source answered for one item; `parse` is the spider's
    path from that answer to `Observation.raw` (None: the parser refused it, the spider skips
    it; only a `ParseError` may say so); `key` is the observation's key. `fixed` are answer
    keys that name the item (never dropped), `statements` answer keys whose null is a fact
    (GitHub's `license: null`: no licence file), not "unknown".
    """

    identity: st.SearchStrategy
    answer: Callable[[Any], st.SearchStrategy]
    parse: Callable[[Any, Any], Mapping[str, Any] | None]
    key: Callable[[Any, Mapping[str, Any]], str]
    fixed: frozenset = frozenset()
    statements: frozenset = frozenset()
    reshapes: bool = False  # normalise is more than "drop None": unknown is checked on events only
    rules: Mapping[str, frozenset] = field(default_factory=dict)  # field -> the event types it may make


def _refusing(parse):
    def run(identity, answer):
        try:
            return parse(identity, answer)
        except ParseError:  # the parser's own "not what the source sends": the spider skips it
            return None
    return run


# Hugging Face: the API's model object (`/api/models?author=…&expand[]=…`), kept as it came.

@st.composite
def hf_answer(draw, model_id: str):
    card_licence = draw(real(*HF_LICENCES))
    card = draw(st.fixed_dictionaries({}, optional={
        "license": st.just(card_licence),
        "license_name": real("llama3.1", "qwen", "deepseek"),
        "license_link": real("LICENSE", "https://example.org/terms", "https://huggingface.co/o/m/blob/main/LICENSE"),
        "base_model": real("o/base", ["o/base", "o/other"]),
        "datasets": real("d/one", ["d/one", "d/two"]),
        "pipeline_tag": real("text-generation", "fill-mask"),
        "library_name": real("transformers", "gguf"),
    }))
    # The Hub derives `license:`, `base_model:`, `arxiv:` tags from the card: they agree with it.
    tags = draw(st.lists(real("text-generation", "arxiv:2401.00001", "arxiv:2501.12948", "dataset:d/one", "gguf"),
                         max_size=4))
    if isinstance(card.get("license"), str) and draw(st.booleans()):
        tags.append(f"license:{card['license']}")
    if isinstance(card.get("base_model"), str) and draw(st.booleans()):
        tags.append(f"base_model:{card['base_model']}")
    optional = {
        "author": real(model_id.split("/")[0]),
        "sha": real(*SHAS),
        "lastModified": real(*STAMPS),
        "createdAt": real(*STAMPS),
        "gated": real(False, "auto", "manual"),
        "private": real(False, True),
        "disabled": real(False, True),
        "cardData": st.one_of(st.just(card), st.just(card), HOSTILE),
        "tags": st.one_of(st.just(tags), st.just(tags), HOSTILE),
        "pipeline_tag": real("text-generation", "image-text-to-text"),
        "library_name": real("transformers", "vllm"),
        "safetensors": real({"parameters": {"BF16": 8_030_261_248}, "total": 8_030_261_248}, {"total": 7.0e9}),
        "downloads": real(0, 12, 10**9),
        "likes": real(0, 3),
        "siblings": real([{"rfilename": "LICENSE"}, {"rfilename": "README.md"}]),
        "_id": real("65f0c0ffee"),
        "modelId": st.just(model_id),
    }
    return draw(st.fixed_dictionaries({"id": st.just(model_id)}, optional=optional))


def _hf_parse(identity, answer):
    # The spider keeps every object with a string id (`HuggingFaceSpider._page`).
    return answer if isinstance(answer, dict) and isinstance(answer.get("id"), str) else None


# ModelScope: the parser's fields from one `Data.Models[]` object (PascalCase).

@st.composite
def ms_answer(draw, identity):
    owner, name = identity
    return draw(st.fixed_dictionaries({"Name": st.just(name), "Path": st.just(owner)}, optional={
        "License": real("Apache License 2.0", "MIT", "apache-2.0", "", "other"),
        "Tags": real(["nlp", "license:mit"], ["arxiv:2401.00001v2", "dataset:d/one"], [{"Name": "nlp", "Color": "b"}],
                     []),
        "BaseModel": real("o/base", ["o/base"], []),
        "RelatedArxivId": real("2401.00001", ["2501.12948v1"], []),
        "ProtectedMode": real(1, 2, 0),
        "Visibility": real(1, 3, 5),
        "CreatedTime": real(1_700_000_000, "2024-01-01 10:00:00", "2024-01-01T00:00:00Z"),
        "LastUpdatedTime": real(1_710_000_000, 1_720_000_000.5),
        "Tasks": real([{"Name": "text-generation"}], {"Name": "chat"}, []),
        "Downloads": real(0, 10**6),
        "Stars": real(0, 5),
        "Likes": real(1),
        "ChineseName": real("通义千问"),
        "Organization": real({"Name": owner, "FullName": "Org"}),
    }))


# GitHub: `repo_fields` of `GET /repos/{o}/{r}` (octokit's fixture shape), `release_fields` of
# one `/releases` object, or one `releases.atom` entry as feedparser gives it.

@st.composite
def repo_answer(draw, identity):
    owner, name = identity
    licence = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "spdx_id": real("MIT", "Apache-2.0", "NOASSERTION", "GPL-3.0"), "key": real("mit", "other"),
        "name": real("MIT License", "Other")}), HOSTILE)
    return draw(st.fixed_dictionaries(
        {"full_name": st.just(f"{owner}/{name}"), "name": st.just(name), "owner": st.just({"login": owner})},
        optional={
            "id": real(1296269, 42), "html_url": real(f"https://github.com/{owner}/{name}"),
            "description": real("An open model", ""), "archived": real(False, True), "disabled": real(False),
            "fork": real(False, True), "default_branch": real("main", "master"), "pushed_at": real(*STAMPS),
            "created_at": real(*STAMPS), "license": licence, "stargazers_count": real(0, 80_000),
        }))


@st.composite
def release_answer(draw, tag: str):
    if draw(st.booleans()):
        return "api", draw(st.fixed_dictionaries({"tag_name": st.just(tag)}, optional={
            "id": real(1, 2), "name": real("v1.0", "", "Release ✓"), "published_at": real(*STAMPS),
            "created_at": real(*STAMPS), "prerelease": real(False, True), "draft": real(False),
            "html_url": real(f"https://github.com/o/r/releases/tag/{tag}"),
            "body": real("Weights: https://huggingface.co/o/m", "x" * 70_000, ""), "author": real({"login": "u"}),
        }))
    return "atom", draw(st.fixed_dictionaries({"id": st.just(f"tag:github.com,2008:Repository/123/{tag}")}, optional={
        "link": real(f"https://github.com/o/r/releases/tag/{tag}"), "title": real("v1.0"),
        "updated_parsed": real(*TIMES), "summary": real("<p>notes</p>"), "content": real([{"value": "<p>c</p>"}]),
        "author": real("someone"),
    }))


def _release_parse(tag, answer):
    via, obj = answer
    # `releases_from_atom` reads each feedparser entry with `_atom_release`.
    return gh.release_fields(obj, "o/r") if via == "api" else gh._atom_release(obj, "o/r")


# arXiv: `paper_fields` of one Atom <entry>, built as ElementTree parses one (text or None).

@st.composite
def arxiv_answer(draw, arxiv_id: str):
    words = st.one_of(st.none(), TEXT, st.sampled_from(["Open weights", "A  model\n of things"]))
    return {
        "id": f"http://arxiv.org/abs/{arxiv_id}" + draw(st.sampled_from(["", "v1", "v2"])),
        "title": draw(words), "summary": draw(words), "comment": draw(words), "journal_ref": draw(words),
        "doi": draw(words), "published": draw(st.one_of(st.none(), TEXT, st.sampled_from(STAMPS))),
        "updated": draw(st.one_of(st.none(), st.sampled_from(STAMPS))),
        "authors": draw(st.lists(st.one_of(st.none(), TEXT, st.just("Ada Lovelace")), max_size=4)),
        "categories": draw(st.lists(st.one_of(TEXT, st.sampled_from(["cs.CL", "cs.LG"])), max_size=3)),
        "primary": draw(st.one_of(st.none(), st.sampled_from(["cs.CL", ""]), TEXT)),
        "links": draw(st.lists(st.fixed_dictionaries({"href": st.one_of(TEXT, st.just(f"https://arxiv.org/abs/{arxiv_id}"))},
                                                     optional={"rel": st.sampled_from(["alternate", "related"]),
                                                               "title": st.sampled_from(["pdf", "doi"]),
                                                               "type": st.just("application/pdf")}), max_size=3)),
    }


def _arxiv_parse(identity, spec):
    entry = ET.Element(ax.ATOM + "entry")

    def child(parent, tag, value=None, **attrib):
        node = ET.SubElement(parent, tag, {k: v for k, v in attrib.items() if v is not None})
        node.text = value
        return node

    child(entry, ax.ATOM + "id", spec["id"])
    for tag, name in (("title", "title"), ("summary", "summary"), ("published", "published"), ("updated", "updated")):
        if spec.get(name) is not None:
            child(entry, ax.ATOM + tag, spec[name])
    for tag in ("comment", "journal_ref", "doi"):
        if spec.get(tag) is not None:
            child(entry, ax.ARXIV + tag, spec[tag])
    for author in spec.get("authors") or ():
        child(child(entry, ax.ATOM + "author"), ax.ATOM + "name", author)
    for term in spec.get("categories") or ():
        child(entry, ax.ATOM + "category", term=term)
    if spec.get("primary") is not None:
        child(entry, ax.ARXIV + "primary_category", term=spec["primary"])
    for link in spec.get("links") or ():
        child(entry, ax.ATOM + "link", **link)
    return ax.paper_fields(entry)


# Hugging Face daily papers: one element of `/api/daily_papers` (PaperInfo's shape).

@st.composite
def daily_answer(draw, arxiv_id: str):
    paper = draw(st.fixed_dictionaries({"id": st.just(arxiv_id)}, optional={
        "title": real("Open weights", " "), "summary": real("We release https://github.com/o/r"),
        "authors": real([{"name": "Ada", "hidden": False}], [{"name": None}, "x"]),
        "publishedAt": real(*STAMPS), "submittedOnDailyAt": real(*STAMPS),
        "submittedOnDailyBy": real({"user": "u", "fullname": "U"}), "upvotes": real(0, 7),
        "githubRepo": real("https://github.com/o/r", "ftp://x"), "githubStars": real(3),
        "projectPage": real("https://example.org"), "organization": real({"name": "deepseek-ai"}),
    }))
    item = draw(st.fixed_dictionaries({}, optional={
        "paper": st.one_of(st.just(paper), st.just(paper), HOSTILE), "id": st.just(arxiv_id),
        "publishedAt": real(*STAMPS), "title": real("Open weights"), "numComments": real(0, 2),
        "submittedBy": real({"user": "u"}), "organization": real({"name": "Qwen"}),
        "linkedModels": real([{"id": "o/m"}], [{"id": None}, 3]),
    }))
    return item if isinstance(item.get("paper"), dict) else item | {"id": arxiv_id}  # it names its paper


# Feeds: one feedparser entry (a dict; `entry_fields` reads it with dict.get), plus the feed URL.

@st.composite
def feed_answer(draw, entry_id: str):
    return draw(st.fixed_dictionaries({"id": st.just(entry_id)}, optional={
        "title": real("A post", ""), "link": real("https://example.org/p/1", "https://huggingface.co/o/m"),
        "author": real("Ada"), "published_parsed": real(*TIMES), "updated_parsed": real(*TIMES),
        "summary": real("<p>We release o/m</p>", "x" * 70_000, ""), "content": real([{"value": "<b>c</b>"}], []),
        "tags": real([{"term": "ai"}, {"term": "ai"}], [{"term": None}], []),
    }))


def _feed_parse(identity, entry):
    fields = fd.entry_fields(entry)
    return None if fields is None else dict(fields) | {"feed": "https://example.org/index.xml"}  # the unit


MODEL_RULES = {
    **{f: frozenset({"model.license_changed"}) for f in ("license", "license_name", "license_link", "license_category")},
    "license_files": frozenset({"model.license_file_changed"}),
    "gated": frozenset({"model.gating_changed"}),
    "sha": frozenset({"model.updated"}),
}
OWNERS = st.sampled_from(["o", "deepseek-ai", "Qwen"])
NAMES = st.sampled_from(["m", "DeepSeek-V3", "Qwen2.5-7B"])
ARXIV_IDS = st.sampled_from(["2401.00001", "2501.12948", "hep-th/9901001"])

# (source kind, item kind name) -> how its spider makes raw observations.
SPECS: dict[tuple[str, str], Spec] = {
    ("huggingface", "model"): Spec(
        identity=st.one_of(st.builds(lambda o, n: f"{o}/{n}", OWNERS, NAMES),
                           st.sampled_from(["o/\ud800", "é/✓", "o/m\x00"])), answer=hf_answer, parse=_hf_parse,
        key=lambda ident, raw: HubModel().key(raw["id"]), fixed=frozenset({"id"}), reshapes=True, rules=MODEL_RULES),
    ("modelscope", "model"): Spec(
        identity=st.tuples(OWNERS, NAMES), answer=ms_answer,
        parse=_refusing(lambda ident, d: ms.model_fields(d, owner=ident[0])),
        key=lambda ident, raw: ms.MsModel().key(raw["id"]), fixed=frozenset({"Name", "Path"}), rules=MODEL_RULES),
    ("github", "repo"): Spec(
        identity=st.tuples(OWNERS, NAMES), answer=repo_answer, parse=_refusing(lambda ident, obj: gh.repo_fields(obj)),
        key=lambda ident, raw: gh.repo_key(*ident), fixed=frozenset({"full_name", "name", "owner"}),
        statements=frozenset({"license"}),
        rules={"license": frozenset({"repo.license_changed"}), "license_category": frozenset({"repo.license_changed"}),
               "archived": frozenset({"repo.archived"})}),
    ("github", "release"): Spec(
        identity=st.sampled_from(["v1.0", "2025-01-01", "b4567", "é ✓"]), answer=release_answer,
        parse=_refusing(_release_parse), key=lambda tag, raw: gh.release_key("o", "r", tag),
        fixed=frozenset({"tag_name", "id"})),
    ("arxiv", "paper"): Spec(
        identity=ARXIV_IDS, answer=arxiv_answer, parse=_refusing(_arxiv_parse),
        key=lambda ident, raw: ax.paper_key(ident), fixed=frozenset({"id"})),
    ("hf_papers", "paper"): Spec(
        identity=ARXIV_IDS, answer=daily_answer, parse=_refusing(lambda ident, item: hp.daily_paper_fields(item)),
        key=lambda ident, raw: hp.paper_key(ident), fixed=frozenset({"id", "paper"})),
    ("feed", "post"): Spec(
        identity=st.sampled_from(["https://example.org/p/1", "tag:example.org,2025:2", "urn:uuid:é✓"]),
        answer=feed_answer,
        parse=_refusing(_feed_parse),
        key=lambda ident, raw: fd.post_key("w", raw["entry_id"]), fixed=frozenset({"id"})),
}

# A kind with no strategy of its own yet: any JSON object with an id (what a plugin's spider
# is most likely to hand over). A normaliser that refuses such objects fails here: give its
# kind a strategy shaped like its spider's raw in SPECS.
GENERIC = Spec(
    identity=st.sampled_from(["x", "y"]),
    answer=lambda ident: st.dictionaries(st.text(max_size=6), HOSTILE, max_size=6).map(lambda d: d | {"id": ident}),
    parse=lambda ident, obj: obj, key=lambda ident, raw: f"{ident}", fixed=frozenset({"id"}))

KINDS = [(source.kind, kind) for source in all_sources().values() for kind in source.item_kinds]
IDS = [f"{source}.{kind.name}" for source, kind in KINDS]
kinds = pytest.mark.parametrize("source,kind", KINDS, ids=IDS)


def spec_of(source: str, kind: ItemKind) -> Spec:
    return SPECS.get((source, kind.name), GENERIC)


def test_every_built_in_kind_has_a_strategy_shaped_like_its_raw():
    built_in = {(source, kind.name) for source, kind in KINDS if type(kind).__module__.startswith("crawler.")}
    assert built_in == set(SPECS)


# -- the store's steps, in order -------------------------------------------------------------------

def ctx_of(key: str) -> Context:
    return Context(key=key, watch="w", url=None, org=None, country=None, detected_at=NOW, seq=2)


def stored(kind: ItemKind, previous: Mapping[str, Any] | None, raw: Mapping[str, Any]):
    """(before, after) as `Store._changed` makes them: `previous` read back from JSON without
    its counters, merged with what this raw carried, files kept (none fetched), openness."""
    if previous is not None:
        previous = json.loads(json.dumps(previous, sort_keys=True))
        previous = {k: v for k, v in previous.items() if k not in kind.counter_fields}
    fields = merge_known(previous, kind.normalise(raw), kind.first_sight)
    if kind.has_files:  # `Store._license_files` with `obs.files is None`: the last ones stand
        prev = previous or {}
        fields.update(license_files=dict(prev.get("license_files") or {}),
                      license_etags=dict(prev.get("license_etags") or {}),
                      license_read_sha=prev.get("license_read_sha", prev.get("sha")))
    if kind.name == "model":
        fields["openness"], _ = openness(fields)
    return previous, fields


def events(kind: ItemKind, key: str, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[dict]:
    """The events the store makes for a stored item (`before`) seen again as `after`."""
    if before is None:
        return []  # `added`: not a diff
    if content_hash(dict(before), kind.quiet) == content_hash(dict(after), kind.quiet):
        return []  # no new snapshot, no event
    return kind.changed(ctx_of(key), _readable_before(dict(before), dict(after)), after)


@st.composite
def observed(draw, spec: Spec, identity=None, answer=None):
    """(identity, answer, raw) of one item as its spider would hand it over."""
    identity = draw(spec.identity) if identity is None else identity
    answer = draw(spec.answer(identity)) if answer is None else answer
    raw = spec.parse(identity, answer)
    assume(raw is not None)
    return identity, answer, raw


def baseline(kind: ItemKind, raw: Mapping[str, Any]) -> dict:
    return stored(kind, None, raw)[1]


def _shuffled(value: Any, rnd) -> Any:
    if isinstance(value, dict):
        items = [(k, _shuffled(v, rnd)) for k, v in value.items()]
        rnd.shuffle(items)
        return dict(items)
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict):  # (via, object)
        return value[0], _shuffled(value[1], rnd)
    return value


# -- 1. an unchanged observation makes no event ---------------------------------------------------

@kinds
@PROPERTY
@given(data=st.data())
def test_an_unchanged_observation_makes_no_event(source, kind, data):
    spec = spec_of(source, kind)
    identity, _, raw = data.draw(observed(spec))
    key = spec.key(identity, raw)
    first = baseline(kind, raw)
    assert changed_fields(first, first) == []
    assert kind.changed(ctx_of(key), first, first) == []
    before, again = stored(kind, first, raw)
    assert changed_fields(before, again) == []
    assert content_hash(first, kind.quiet) == content_hash(again, kind.quiet)
    assert kind.changed(ctx_of(key), _readable_before(before, again), again) == []


# -- 2. key order and counters never matter --------------------------------------------------------

@kinds
@PROPERTY
@given(data=st.data())
def test_key_order_and_counters_are_no_change(source, kind, data):
    spec = spec_of(source, kind)
    identity, answer, raw = data.draw(observed(spec))
    rnd = data.draw(st.randoms(use_true_random=False))
    reordered = spec.parse(identity, _shuffled(answer, rnd))  # the answer's keys in another order
    assert reordered is not None
    for other in (reordered, _shuffled(raw, rnd)):          # and the raw object's
        assert kind.fingerprint(other) == kind.fingerprint(raw)
        assert kind.normalise(other) == kind.normalise(raw)
        before, after = stored(kind, baseline(kind, raw), other)
        assert changed_fields(before, after) == []
        assert events(kind, spec.key(identity, raw), before, after) == []
    counted = dict(raw) | {name: data.draw(real(0, 1, 10**12)) for name in kind.counter_fields}
    assert kind.fingerprint(counted) == kind.fingerprint(raw)
    assert stored(kind, baseline(kind, raw), counted)[1] == stored(kind, baseline(kind, raw), raw)[1]


# -- 3. applying a diff's after-fields gives b; events carry a's and b's values --------------------

def _carries(named: Mapping[str, Any], state: Mapping[str, Any]) -> None:
    for name, value in named.items():
        whole = state.get(name)
        if isinstance(value, dict) and isinstance(whole, dict) and name == "license_files":
            # licence-file events name the files that changed, each with its hash
            assert all(whole.get(n) == v for n, v in value.items()), name
        else:
            assert value == whole, name


@kinds
@PROPERTY
@given(data=st.data())
def test_applying_the_after_fields_gives_b(source, kind, data):
    spec = spec_of(source, kind)
    identity, _, raw_a = data.draw(observed(spec))
    _, _, raw_b = data.draw(observed(spec, identity))
    key = spec.key(identity, raw_a)
    a, b = stored(kind, baseline(kind, raw_a), raw_b)
    changed = changed_fields(a, b)
    assert changed_fields(merge_known(a, {f: b[f] for f in changed}), b) == []
    assert set(changed) <= set(b)  # a field b does not carry is never "changed"
    before = _readable_before(a, b)
    made = events(kind, key, a, b)
    for event in made:
        _carries(event["after"] or {}, b)
        _carries(event["before"] or {}, before)
    assert len({e["dedupe_key"] for e in made}) == len(made)


# -- 4. unknown is never a change --------------------------------------------------------------------

@kinds
@PROPERTY
@given(data=st.data())
def test_an_answer_that_does_not_carry_a_field_makes_no_event(source, kind, data):
    spec = spec_of(source, kind)
    identity, answer, raw = data.draw(observed(spec))
    key = spec.key(identity, raw)
    known = baseline(kind, raw)
    # At the answer: keys left out, or null where null means "not said".
    obj = answer[1] if isinstance(answer, tuple) else answer
    droppable = sorted(k for k in obj if k not in spec.fixed)
    gone = data.draw(st.lists(st.sampled_from(droppable), unique=True) if droppable else st.just([]))
    nulled = [k for k in gone if k not in spec.statements and data.draw(st.booleans())]
    thinner = {k: v for k, v in obj.items() if k not in gone} | {k: None for k in nulled}
    parsed = spec.parse(identity, (answer[0], thinner) if isinstance(answer, tuple) else thinner)
    if parsed is not None and spec.key(identity, parsed) == key:
        before, after = stored(kind, known, parsed)
        assert events(kind, key, before, after) == []
    # At the raw object (the parser's fields): a normaliser that drops None keeps the rest known.
    if spec.reshapes:
        return  # its raw is the answer, checked above
    gone = data.draw(st.lists(st.sampled_from(sorted(raw)), unique=True) if raw else st.just([]))
    thin = {k: v for k, v in raw.items() if k not in gone} | {k: None for k in gone if data.draw(st.booleans())}
    before, after = stored(kind, known, thin)
    assert changed_fields(before, after) == []
    assert events(kind, key, before, after) == []


# -- 5. nothing on the store's path crashes on a hostile answer --------------------------------------

@kinds
@PROPERTY
@given(data=st.data())
def test_the_store_path_is_total_on_hostile_answers(source, kind, data):
    spec = spec_of(source, kind)
    identity = data.draw(spec.identity)
    answers = [data.draw(spec.answer(identity)) for _ in range(2)]
    raws = [spec.parse(identity, a) for a in answers]  # a ParseError is the only refusal allowed
    raws = [r for r in raws if r is not None]
    assume(raws)
    previous = None
    for raw in raws:
        key = spec.key(identity, raw)
        assert all(isinstance(v, int) and -2**63 <= v < 2**63 for v in kind.counters(raw).values())  # SQLite
        before, after = stored(kind, previous, raw)
        json.dumps(after, sort_keys=True)  # `items.data`, as the store writes it
        content_hash(after, kind.quiet)
        # What goes into SQLite as text must be UTF-8 (a lone surrogate is not): the key, the
        # columns, the links. `items.data` and events are JSON with ASCII escapes.
        written = [key, kind.fingerprint(raw), kind.url(key, after, {}), kind.org(after),
                   *kind.columns(key, after).values()]
        written += [part for link in kind.links(key, after) for part in link]
        for value in written:
            if isinstance(value, str):
                value.encode("utf-8")
        made = kind.added(ctx_of(key), after) if before is None else events(kind, key, before, after)
        for event in made:
            json.dumps(event["before"]), json.dumps(event["after"]), json.dumps(event["data"])
        previous = after


# -- 6. one change, one event ---------------------------------------------------------------------

@kinds
@PROPERTY
@given(data=st.data())
def test_one_changed_field_makes_at_most_its_own_events(source, kind, data):
    spec = spec_of(source, kind)
    identity, _, raw = data.draw(observed(spec))
    others = [baseline(kind, data.draw(observed(spec, identity))[2]) for _ in range(2)]
    key = spec.key(identity, raw)
    a = baseline(kind, raw)
    # A value the normaliser makes (a state holds nothing else), or another file hash.
    if kind.has_files:
        others.append({"license_files": data.draw(st.dictionaries(
            st.sampled_from(["LICENSE", "USE_POLICY.md"]), st.sampled_from(SHAS), min_size=1))})
    candidates = {name: [o[name] for o in others if name in o and o[name] != a.get(name)]
                  for name in set(a).union(*others) - FILE_BOOKKEEPING - {"openness"}}
    candidates = {name: values for name, values in candidates.items() if values}
    assume(candidates)
    name = data.draw(st.sampled_from(sorted(candidates)))
    value = data.draw(st.sampled_from(candidates[name]))
    b = dict(a) | {name: value}
    made = kind.changed(ctx_of(key), a, b)
    types = [e["type"] for e in made]
    allowed = spec.rules.get(name, frozenset()) if spec is not GENERIC else None
    if allowed is not None:
        assert set(types) <= allowed, (name, types)
    assert len(set(types)) == len(types) and len({e["dedupe_key"] for e in made}) == len(made)
    if name in kind.quiet:
        assert events(kind, key, a, b) == []  # no new snapshot: the store never asks
    # With a commit too, the commit is no event of its own when the change is one already.
    if "sha" in spec.rules and name != "sha" and made:
        with_commit = kind.changed(ctx_of(key), a, b | {"sha": "d" * 40})
        assert [e["type"] for e in with_commit] == types


# -- the real store makes the events `stored` predicts ------------------------------------------------

def _batch(source: str, kind: ItemKind, key: str, raw: Mapping[str, Any], n: int) -> Batch:
    return Batch(watch="w", source=source, unit="u", observed_at=f"2026-12-0{n}T00:00:00.000000Z",
                 observations=[Observation(key=key, kind=kind.name, raw=dict(raw))],
                 end=UnitEnd(complete=True, count=1))


@kinds
@STORE
@given(data=st.data())
def test_the_store_does_what_stored_says(source, kind, data):
    spec = spec_of(source, kind)
    identity, _, raw_a = data.draw(observed(spec))
    _, _, raw_b = data.draw(observed(spec, identity))
    key = spec.key(identity, raw_a)
    with tempfile.TemporaryDirectory() as folder:
        store = Store(connect(Path(folder) / "ow.db"))
        try:
            assert store.ingest(_batch(source, kind, key, raw_a, 1)).events == []  # the baseline
            assert store.ingest(_batch(source, kind, key, raw_a, 2)).events == []  # unchanged
            made = store.ingest(_batch(source, kind, key, raw_b, 3)).events
            again = store.ingest(_batch(source, kind, key, raw_b, 4)).events
        finally:
            store.db.close()
    before, after = stored(kind, baseline(kind, raw_a), raw_b)
    predicted = events(kind, key, before, after)
    assert [(e["type"], e["before"], e["after"]) for e in made] == [
        (e["type"], e["before"], e["after"]) for e in predicted]
    assert again == []


# -- what these properties found, pinned ------------------------------------------------------------

def test_found_a_null_at_the_hub_is_a_field_not_carried():
    kind = HubModel()
    known = baseline(kind, {"id": "o/m", "sha": "a" * 40, "gated": "manual"})
    for null in ({"sha": None}, {"gated": None}, {"private": None, "createdAt": None}):
        before, after = stored(kind, known, {"id": "o/m", "sha": "a" * 40, "gated": "manual"} | null)
        assert events(kind, "model:hf/o/m", before, after) == [] and after["gated"] == "manual"


def test_found_key_order_inside_a_hub_value_is_no_change():
    kind = HubModel()
    one, other = {"id": "o/m", "sha": {"a": 1, "b": 2}}, {"id": "o/m", "sha": {"b": 2, "a": 1}}
    assert kind.fingerprint(one) == kind.fingerprint(other)
    # Scalars read as before: stored fingerprints stay valid (no re-normalising of every model).
    assert kind.fingerprint({"id": "o/m", "sha": "a" * 40}) == "2|" + "a" * 40 + "|None|None|None|None|o/m|0000"


def test_found_lone_surrogates_never_reach_sqlite(tmp_path):
    raw = {"id": "o/\ud800", "author": "\udfff", "sha": "a" * 40, "cardData": {"license": "x\ud800"}}
    kind = HubModel()
    store = Store(connect(tmp_path / "ow.db"))
    batch = _batch("huggingface", kind, kind.key(raw["id"]), raw, 1)
    assert store.ingest(batch).items == 1
    assert store.db.execute("select key, org from items").fetchone() == ("model:hf/o/\ufffd", "\ufffd")


def test_found_modelscope_licence_unknown_only_when_said():
    assert ms.model_fields({"Name": "m", "Path": "o", "License": None})["license"] is None
    assert ms.model_fields({"Name": "m", "Path": "o", "License": ""})["license"] is None  # Tags not carried
    assert ms.model_fields({"Name": "m", "Path": "o", "License": "", "Tags": []})["license_category"] == "unknown"


def test_found_feed_tags_of_another_type_are_no_tags():
    assert fd.entry_fields({"id": "https://example.org/p/1", "tags": 1})["tags"] == []


def test_found_a_counter_sqlite_cannot_hold_is_no_counter():
    assert HubModel().counters({"id": "o/m", "likes": 2**63, "downloads": 2**63 - 1}) == {"downloads": 2**63 - 1}
