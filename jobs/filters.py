"""Every filter a user writes, read one way: the CLI's options (`events`, `models`, `feed`)
and a subscription's keys in the config.

A value that names nothing known is an error with the fix ("did you mean …"), never an empty
answer: an analyst who typed `--country China` must not conclude there are no Chinese models.
Each check returns what the query or the subscription matches on, or raises `FilterError`;
the CLI prefixes the option (`--org "deepseek" is not a known org …`), the config its
`file:line: key` (jobs/config/).

- event types: `*`, a family (`model.*`) or one type (crawler/events.py reads patterns);
- orgs: case-insensitive; a lab of the registry matches under each of its names (its Hugging
  Face org, GitHub and ModelScope owners: `--org Qwen` finds QwenLM's releases);
- countries: ISO 3166 alpha-2 codes in any case; a country's name gets its code suggested
  (pycountry);
- licence categories: the licence vocabulary's (crawler/licenses.py), any case;
- sources: a source's kind or the short name of its keys (`hf`, `ms`);
- watches: the config's (and, for queries, the history's).
"""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterable

COUNTRY_EXAMPLE = 'use ISO 3166 alpha-2 codes, e.g. "US", "CN", "FR"'
ORG_EXAMPLE = 'write the org as in its Hugging Face URL, e.g. "deepseek-ai"'


class FilterError(ValueError):
    """A filter value that names nothing known: `problem; fix`."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix


def show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def did_you_mean(value: str, choices: Iterable[str], noun: str) -> str:
    """`did you mean "x"?` when one choice is close, else `<noun>: a, b, c` (the CLI's options
    and the config's keys alike)."""
    choices = list(choices)
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f'did you mean "{lowered[close[0]]}"?'
    return f"{noun}: {', '.join(choices)}"


def event_types(pattern: str, noun: str = 'event types ("*" for all)') -> tuple[str, ...]:
    """The event types `pattern` names (`*`, `model.*`, `model.added`)."""
    from crawler.events import event_types as every, event_types_matching

    matching = event_types_matching(pattern)
    if not matching:
        raise FilterError(f"{show(pattern)} is not an event type", did_you_mean(pattern, every(), noun))
    return matching


def org(value: str, *, known: Iterable[str] = (), where: str = "the registry", open_ended: bool = False,
        registry=None) -> frozenset[str]:
    """The lower-cased names an org filter matches: every name the registry gives the lab, or
    the name itself when `known` (the config's or the history's orgs; or a function that reads
    them, called only when the registry does not know the name) has it. `open_ended`: a
    watch may bring orgs nobody can list in advance (a hub-wide search), so a name with no
    close match in the registry is taken as written."""
    from crawler.orgs import default_orgs

    registry = registry or default_orgs()
    lab = registry.lookup(value)
    if lab is not None:
        return frozenset(n.lower() for n in (value, lab.hf_org, *lab.github_owners, *lab.modelscope_owners))
    known = {name.lower() for name in (known() if callable(known) else known)}
    if value.lower() in known:
        return frozenset({value.lower()})
    close = registry.suggest(value)
    if close is None and open_ended:
        return frozenset({value.lower()})
    raise FilterError(f"{show(value)} is not a known org (not in {where})",
                      f'did you mean "{close}"?' if close else ORG_EXAMPLE)


def watched_orgs(watches) -> set[str]:
    """The orgs the config's watches name: their `orgs`, and the owners of their `repos`."""
    return {name for w in watches for name in (*(w.options.get("orgs") or ()),
                                                *(r.split("/")[0] for r in w.options.get("repos") or ()))}


def open_ended(watches) -> bool:
    """Does a watch bring orgs nobody can list ahead (a hub-wide search, papers, feeds)?"""
    return any(w.source not in ("huggingface", "modelscope", "github")
               or not (w.options.get("orgs") or w.options.get("repos")) for w in watches)


def country(value: str, *, known: Iterable[str] = (), registry=None) -> str:
    """The ISO 3166 alpha-2 code (upper case) of a country some known org is of."""
    from crawler.orgs import default_orgs

    registry = registry or default_orgs()
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        code = country_code(value) if len(value) > 3 else None  # a name; not an alpha-3 code
        raise FilterError(f"{show(value)} is not a country code",
                          f'did you mean "{code}"?' if code else COUNTRY_EXAMPLE)
    code = value.upper()
    countries = registry.countries()
    if code not in countries:  # `known`: the history's countries, or a function that reads them
        countries = countries | {c.upper() for c in (known() if callable(known) else known)}
    if code not in countries:
        raise FilterError(f"{show(value)} is the country of no known org", f"known: {', '.join(sorted(countries))}")
    return code


def country_code(name: str) -> str | None:
    """ISO 3166 alpha-2 code of a country's name (`China` -> `CN`), if pycountry knows it."""
    import pycountry

    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        pass
    try:
        found = pycountry.countries.search_fuzzy(name)
    except LookupError:
        return None
    return found[0].alpha_2 if len(found) == 1 else None


def category(value: str) -> str:
    """A licence category of the vocabulary, lower-cased."""
    from crawler.licenses import CATEGORIES

    if value.lower() not in CATEGORIES:
        raise FilterError(f"{show(value)} is not a licence category", did_you_mean(value, CATEGORIES, "categories"))
    return value.lower()


def source_names(item_kind: str | None = None) -> dict[str, str]:
    """Every name of a source (its kind, and the short name its keys use: `hf` of
    `model:hf/…`), lower-cased -> kind; only sources with items of `item_kind` when given."""
    from crawler.sources import all_sources

    names: dict[str, str] = {}
    for kind, source in all_sources().items():
        if item_kind is not None and not any(k.name == item_kind for k in source.item_kinds):
            continue
        names[kind.lower()] = kind
        for item in source.item_kinds:
            short = item.prefix.partition(":")[2].partition("/")[0]
            if short:
                names.setdefault(short.lower(), kind)
    return names


def source(value: str, *, item_kind: str | None = None) -> str:
    """The source kind `value` names (`hf` -> `huggingface`)."""
    names = source_names(item_kind)
    found = names.get(value.lower())
    if found is None:
        kinds = list(dict.fromkeys(names.values()))
        noun = f"sources of {item_kind}s" if item_kind else "sources"
        raise FilterError(f"{show(value)} is not a source" + (f" of {item_kind}s" if item_kind else ""),
                          did_you_mean(value, [*kinds, *(n for n in names if n not in kinds)], noun)
                          if kinds else "no source is installed")
    return found


def watch(value: str, names: Iterable[str], *, where: str = "this file") -> str:
    names = list(dict.fromkeys(names))
    if value not in names:
        raise FilterError(f"{show(value)} is not a watch of {where}",
                          did_you_mean(value, names, "watches") if names else "add a [[watch]] first")
    return value
