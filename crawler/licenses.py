"""Licence vocabulary: every way a licence is written -> one `License` with a category.

DESIGN.md rule 3 ("normalise before diffing"): a Hugging Face card id (`apache-2.0`,
`llama3.1`, `other` + `license_name`), a `license:<id>` tag, a GitHub SPDX id (`Apache-2.0`,
`NOASSERTION`), a display name ("MIT License") or a known licence URL all map to one row of
`crawler/data/licenses.csv`, so that a change of spelling is never a change of licence.

Sources of the spellings: HF's licence ids https://huggingface.co/docs/hub/repositories-licenses
(`license: other` + `license_name` for anything else); GitHub's licences API
https://docs.github.com/en/rest/licenses (licensee keys; `spdx_id` is `NOASSERTION` for a
licence file it cannot identify, and still uses deprecated ids such as `GPL-3.0`).

Pure: no I/O except reading the package data once (`vocabulary()`, cached). Inputs are
scraped and hostile; `normalize` never raises and never returns a category outside
`CATEGORIES`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

CATEGORIES = (
    "permissive",
    "copyleft",
    "open-weight-restricted",
    "non-commercial",
    "research-only",
    "unknown",
)
# Most to least open (data/README.md); "unknown" stands apart and makes a direction unclear.
ORDER = CATEGORIES[:5]
COMMERCIAL_USE = ("yes", "no", "conditional")
DIRECTIONS = ("more_open", "more_restrictive", "lateral", "unclear")

OTHER = "other"
UNKNOWN = "unknown"
OTHER_PREFIX = "other:"
CSV_FIELDS = ("hf_license_id", "spdx_id", "name", "category", "commercial_use", "aliases", "notes")
ALIAS_SEPARATOR = "|"

MAX_SLUG = 100  # chars of a custom licence's slug in `other:<slug>`
MAX_NAME = 300  # chars of a custom licence's name kept as given
MAX_INPUT = 2000  # longer scraped strings are cut before matching: no licence id is that long
MAX_TAGS = 1000
MAX_CACHED_CARDS = 4096  # distinct (licence, name, link) triples kept by `LicenseTable.normalize`


@dataclass(frozen=True)
class License:
    """A normalised licence: our vocabulary id, its category and whether commercial use is allowed."""

    id: str  # HF id ("apache-2.0"), "other:<license_name slug>" or "unknown"
    spdx: str | None
    name: str
    category: str  # one of CATEGORIES
    commercial_use: str  # yes | no | conditional
    known: bool  # False exactly when category is "unknown": we could not resolve it


@dataclass(frozen=True)
class LicenseRow:
    """One row of the vocabulary with what only the data file carries."""

    license: License
    aliases: tuple[str, ...]
    notes: str


class LicenseTable:
    """The vocabulary, indexed by id, alias, SPDX id, display name and licence URL."""

    def __init__(self, rows: Iterable[LicenseRow]):
        self.rows: tuple[LicenseRow, ...] = tuple(rows)
        self._by_id: dict[str, License] = {}
        self._by_key: dict[str, License] = {}
        self._urls: list[tuple[re.Pattern[str], License]] = []
        # (card licence, license_name, license_link) -> License: a first crawl normalises
        # thousands of models that share a few dozen licences (bench/RESULTS.md, "after2").
        self._cards: dict[tuple[str, str | None, str | None], License] = {}
        for row in self.rows:
            lic = row.license
            if lic.id in self._by_id:
                raise ValueError(f"duplicate licence id {lic.id!r}")
            self._by_id[lic.id] = lic
        for row in self.rows:
            lic = row.license
            names = [lic.id, lic.name] + ([lic.spdx] if lic.spdx else [])
            if lic.id.startswith(OTHER_PREFIX):
                names.append(lic.id[len(OTHER_PREFIX) :])
            for alias in row.aliases:
                if _is_url_alias(alias):
                    self._urls.append((_url_pattern(alias), lic))
                else:
                    names.append(alias)
            for name in names:
                self._index(_key(name), lic)

    def _index(self, key: str, lic: License) -> None:
        if not key:
            return
        held = self._by_key.setdefault(key, lic)
        if held.id != lic.id:
            raise ValueError(f"{key!r} names both {held.id!r} and {lic.id!r}")

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str | None]]) -> LicenseTable:
        """Build from CSV dict rows (`CSV_FIELDS`); a bad category or commercial_use is a ValueError."""
        out = []
        for raw in rows:
            row = {k: (v or "").strip() for k, v in raw.items() if k}
            lic_id = row.get("hf_license_id", "").lower()
            if not lic_id:
                continue
            category = row.get("category", "")
            commercial = row.get("commercial_use", "")
            if category not in CATEGORIES:
                raise ValueError(f"{lic_id}: category {category!r} not in {CATEGORIES}")
            if commercial not in COMMERCIAL_USE:
                raise ValueError(f"{lic_id}: commercial_use {commercial!r} not in {COMMERCIAL_USE}")
            aliases = tuple(a.strip() for a in row.get("aliases", "").split(ALIAS_SEPARATOR) if a.strip())
            lic = License(
                id=lic_id,
                spdx=row.get("spdx_id") or None,
                name=row.get("name") or lic_id,
                category=category,
                commercial_use=commercial,
                known=category != UNKNOWN,
            )
            out.append(LicenseRow(license=lic, aliases=aliases, notes=row.get("notes", "")))
        return cls(out)

    @classmethod
    def from_csv(cls, text: str) -> LicenseTable:
        return cls.from_rows(csv.DictReader(io.StringIO(text)))

    # -- lookups --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[License]:
        return (row.license for row in self.rows)

    def __contains__(self, lic_id: object) -> bool:
        return isinstance(lic_id, str) and lic_id in self._by_id

    def get(self, lic_id: str) -> License | None:
        """The row with exactly this vocabulary id."""
        return self._by_id.get(lic_id) if isinstance(lic_id, str) else None

    def row(self, lic_id: str) -> LicenseRow | None:
        return next((row for row in self.rows if row.license.id == lic_id), None)

    def lookup(self, text: str | None) -> License | None:
        """Match an id, alias, SPDX id or display name, ignoring case, spaces and punctuation."""
        text = _text(text)
        if text is None:
            return None
        if text.lower().startswith(OTHER_PREFIX):
            text = text[len(OTHER_PREFIX) :]
        return self._by_key.get(_key(text))

    def lookup_url(self, url: str | None) -> License | None:
        """The licence a `license_link` points at, when it is a known licence URL and unambiguous."""
        norm = _norm_url(_text(url))
        if norm is None:
            return None
        found = {lic.id: lic for pattern, lic in self._urls if pattern.fullmatch(norm)}
        for lic_id in _generic_url_ids(norm, self):
            if lic_id in self._by_id:
                found[lic_id] = self._by_id[lic_id]
        if len(found) == 1:
            return next(iter(found.values()))
        return None

    # -- normalisation ----------------------------------------------------------------------

    def normalize(
        self,
        hf_id: object = None,
        *,
        license_name: object = None,
        license_link: object = None,
        spdx: object = None,
        display_name: object = None,
        tags: object = (),
    ) -> License:
        """See the module-level `normalize`."""
        # A card licence that is a string decides alone with the name and the link (the
        # tags, SPDX id and display name are read only without one): memoised. Pure, and
        # the table never changes, so the answer is the same.
        cacheable = (isinstance(hf_id, str) and (license_name is None or isinstance(license_name, str))
                     and (license_link is None or isinstance(license_link, str)))
        if cacheable:
            key = (hf_id, license_name, license_link)
            found = self._cards.get(key)
            if found is not None:
                return found
        try:
            found = self._normalize(hf_id, license_name, license_link, spdx, display_name, tags)
        except Exception:  # noqa: BLE001 - scraped input must never end a crawl; tests keep this cold
            return self._by_id.get(OTHER) or _fallback()
        if cacheable and _first_text(hf_id) is not None:
            if len(self._cards) >= MAX_CACHED_CARDS:
                self._cards.clear()
            self._cards[key] = found
        return found

    def _normalize(self, hf_id, license_name, license_link, spdx, display_name, tags) -> License:
        card = _first_text(hf_id)
        name = _text(license_name)
        link = _text(license_link)
        if card is None and name is not None:
            card = OTHER  # a license_name without `license:` is still a custom licence
        if card is None:
            card = _tag_license(tags)
        if card is not None:
            return self._from_card(card, name, link)
        s = _text(spdx)
        if s is not None:
            found = self._from_spdx(s)
            if found is not None:
                return found
        d = _text(display_name)
        if d is not None:
            found = self.lookup(d)
            if found is not None:
                return found
        if link is not None:
            found = self.lookup_url(link)
            if found is not None:
                return found
        if s is not None or d is not None:
            return self._custom(s or d)
        return self._by_id.get(UNKNOWN) or _fallback()

    def _from_card(self, card: str, name: str | None, link: str | None) -> License:
        if card.lower().startswith(OTHER_PREFIX):
            # Our own id fed back in ("other:qwen"): the name is inside it.
            name, card = card[len(OTHER_PREFIX) :], OTHER
        if _key(card) == OTHER:
            if name is not None:
                found = self.lookup(name)
                if found is not None:
                    return found
            found = self.lookup_url(link)
            if found is not None:
                return found
            return self._custom(name) if name is not None else self._other()
        # A card's id wins over its license_name (AI21 and Apple cards pair apache-2.0 or
        # apple-amlr with an unrelated license_name).
        found = self.lookup(card) or self.lookup_url(link)
        return found if found is not None else self._custom(card)

    def _from_spdx(self, spdx: str) -> License | None:
        key = _key(spdx)
        if key == "none":
            # GitHub's NONE: no licence file at all; default copyright, nothing granted.
            base = self._by_id.get(UNKNOWN) or _fallback()
            return License(base.id, None, "None (no licence file)", base.category, base.commercial_use, False)
        # NOASSERTION (a licence file GitHub could not identify) and "other" are aliases of `other`.
        return self.lookup(spdx)

    def _other(self) -> License:
        return self._by_id.get(OTHER) or _fallback()

    def _custom(self, name: str) -> License:
        """A licence we cannot resolve: keep its name, call it unknown."""
        slug = _key(name)[:MAX_SLUG].strip("-.")
        if not slug or slug == OTHER:
            return self._other()
        found = self._by_key.get(slug)
        if found is not None:
            return found
        clean = " ".join(name.split())[:MAX_NAME]
        return License(
            id=OTHER_PREFIX + slug,
            spdx=None,
            name=clean or slug,
            category=UNKNOWN,
            commercial_use=self._other().commercial_use,
            known=False,
        )


def normalize(
    hf_id: str | None = None,
    *,
    license_name: str | None = None,
    license_link: str | None = None,
    spdx: str | None = None,
    display_name: str | None = None,
    tags: Iterable[str] = (),
) -> License:
    """Map whatever a source says about a licence to one vocabulary entry.

    Precedence: the card's `license:` (a string or a list: the Hub shows the first), then
    `license_name` alone, then the `license:<id>` tag; then a GitHub SPDX id, a display name,
    a licence URL. `license: other` resolves through `license_name` (ids and aliases such as
    `deepseek-license`), then `license_link`; an unknown name gives
    `License("other:<slug>", category="unknown", known=False)` with the name kept.
    """
    return vocabulary().normalize(
        hf_id,
        license_name=license_name,
        license_link=license_link,
        spdx=spdx,
        display_name=display_name,
        tags=tags,
    )


def direction(category_before: str | None, category_after: str | None) -> str:
    """`more_open`, `more_restrictive` or `lateral` along `ORDER`; `unclear` if either is unknown."""
    rank = {category: i for i, category in enumerate(ORDER)}
    before = rank.get(category_before.strip().lower()) if isinstance(category_before, str) else None
    after = rank.get(category_after.strip().lower()) if isinstance(category_after, str) else None
    if before is None or after is None:
        return "unclear"
    if after < before:
        return "more_open"
    if after > before:
        return "more_restrictive"
    return "lateral"


@lru_cache(maxsize=1)
def vocabulary() -> LicenseTable:
    """The shipped vocabulary (`crawler/data/licenses.csv`), loaded once."""
    text = resources.files("crawler").joinpath("data/licenses.csv").read_text(encoding="utf-8")
    return LicenseTable.from_csv(text)


# -- helpers ---------------------------------------------------------------------------------

_DROP = re.compile(r"[\"'\u2018\u2019\u201c\u201d()\[\]{}<>,;!?*`]")
_SEPARATORS = re.compile(r"(?:[^\w.+]|_)+")
_URL_ALIAS = re.compile(r"^(?:https?://)?[a-z0-9-]+(?:\.[a-z0-9-]+)+/\S*$", re.IGNORECASE)
_URL_SUFFIX = re.compile(r"(?:\.[a-z]{2})?\.(?:html?|txt|md|php|pdf)$")


def _fallback() -> License:
    return License(OTHER, None, "Other", UNKNOWN, "conditional", False)


def _text(value: object) -> str | None:
    """A usable string from a scraped scalar, or None (dicts, bools, empties, ...)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value[:MAX_INPUT]
    value = "".join(ch for ch in value if ch.isprintable() or ch.isspace()).strip()
    return value or None


def _first_text(value: object) -> str | None:
    """A card's `license:` may be a list (HF shows the first): take the first usable string."""
    if isinstance(value, (list, tuple)):
        for item in value[:MAX_TAGS]:
            text = _text(item)
            if text is not None:
                return text
        return None
    return _text(value)


def _tag_license(tags: object) -> str | None:
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, Iterable) or isinstance(tags, (bytes, Mapping)):
        return None
    try:
        for i, tag in enumerate(tags):
            if i >= MAX_TAGS:
                break
            text = _text(tag)
            if text and text[:8].lower() == "license:":
                value = _text(text[8:])
                if value is not None:
                    return value
    except Exception:  # noqa: BLE001 - a hostile iterable is no tag
        return None
    return None


def _key(text: str) -> str:
    """Case-, space- and punctuation-insensitive form; also the slug of `other:<slug>`."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT]).casefold()
    text = text.replace("&", " ").replace("\u2013", "-").replace("\u2014", "-")
    text = _DROP.sub(" ", text)
    return _SEPARATORS.sub("-", text).strip("-.")


def _norm_url(url: str | None) -> str | None:
    """`host/path`, lower-cased, without scheme, `www.`, query, fragment, trailing `/` or `.html`."""
    if url is None:
        return None
    url = url.strip().lower()
    url = re.sub(r"^https?://", "", url, count=1)
    url = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    if url.startswith("www."):
        url = url[4:]
    host = url.split("/", 1)[0]
    if "." not in host or " " in url or not url:
        return None  # a relative path such as "LICENSE" names a file in the repo, not a licence
    return _URL_SUFFIX.sub("", url)


def _is_url_alias(alias: str) -> bool:
    return bool(_URL_ALIAS.match(alias))


def _url_pattern(alias: str) -> re.Pattern[str]:
    """A URL alias matches itself and anything below it; `*` stands for one path segment."""
    norm = _norm_url(alias) or alias.lower()
    body = "/".join("[^/]+" if part == "*" else re.escape(part) for part in norm.split("/"))
    return re.compile(body + r"(?:/.*)?")


_CC = re.compile(r"creativecommons\.org/licenses/(by(?:-nc)?(?:-sa|-nd)?)/(\d\.\d)(?:/.*)?")
_GNU = re.compile(r"gnu\.org/licenses/(?:old-licenses/)?(agpl|lgpl|gpl|fdl)-(\d\.\d)(?:/.*)?")
_BY_ID = re.compile(r"(?:opensource\.org/licenses?|spdx\.org/licenses|choosealicense\.com/licenses)/([^/]+)")
# Meta's licence pages and repos name the version in the path: llama.com/llama3_1/license,
# github.com/meta-llama/llama-models/.../llama3_2/LICENSE, huggingface.co/meta-llama/Llama-3.1-8B/...
_META_HOSTS = re.compile(
    r"(?:llama\.com|llama\.meta\.com|ai\.meta\.com|github\.com/meta-llama|huggingface\.co/meta-llama)(?:/|$)"
)
_LLAMA_VERSION = re.compile(r"llama[-_ ]?(\d+)(?:[._](\d+))?")


def _generic_url_ids(norm: str, table: LicenseTable) -> set[str]:
    ids: set[str] = set()
    if m := _CC.fullmatch(norm):
        ids.add(f"cc-{m.group(1)}-{m.group(2)}")
    if norm.startswith("creativecommons.org/publicdomain/zero/1.0"):
        ids.add("cc0-1.0")
    if m := _GNU.fullmatch(norm):
        family = "gfdl" if m.group(1) == "fdl" else m.group(1)
        ids.add(family if family == "gfdl" else f"{family}-{m.group(2)}")
    if m := _BY_ID.match(norm):
        found = table.lookup(m.group(1))
        if found is not None and found.known:
            ids.add(found.id)
    if _META_HOSTS.match(norm):
        versions = {
            f"llama{major}" + (f".{minor}" if minor else "")
            for major, minor in _LLAMA_VERSION.findall(norm.split("/", 1)[-1])
        }
        versions &= {lic.id for lic in table}
        if len(versions) == 1:
            ids |= versions
    return ids
