"""arXiv API parsing (crawler/sources/arxiv.py) on real answers, error entries, hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.sources import arxiv
from crawler.sources.arxiv import (
    ArxivEmptyPage,
    ArxivError,
    ArxivMalformed,
    ArxivPage,
    ArxivResponseError,
    paper_key,
    parse_feed,
    query_url,
    split_id,
)

SAMPLES = Path("/work/shared/samples")
OLD = (SAMPLES / "arxiv_api_query_2016.xml").read_bytes()
NEW = json.loads((SAMPLES / "arxiv_api_id_list_2026_recorded.json").read_text())["body"].encode()
ERROR = json.loads((SAMPLES / "arxiv_api_error_entry_id_abc_400_2026.json").read_text())["body"].encode()
PAPER_KEYS = {
    "id", "version", "title", "authors", "abstract", "categories", "primary_category", "published",
    "updated", "links", "comment", "journal_ref", "doi", "url",
}


def page(entries: str, *, total: int | None = 1, start: int = 0, per_page: int = 10, prefix: str = "arxiv") -> bytes:
    counts = "" if total is None else (
        f"<opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>"
        f"<opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        f'xmlns:{prefix}="http://arxiv.org/schemas/atom"><id>https://arxiv.org/api/x</id><title>q</title>'
        f"{counts}{entries}</feed>"
    ).encode("utf-8")


def entry(
    arxiv_id: str = "2401.12345v2",
    *,
    title: str = "A title",
    summary: str = "An abstract.",
    authors: tuple[str, ...] = ("Ada Lovelace",),
    extra: str = "",
    prefix: str = "arxiv",
) -> str:
    names = "".join(f"<author><name>{escape(a)}</name></author>" for a in authors)
    return (
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}</id><title>{escape(title)}</title>"
        f"<summary>{escape(summary)}</summary>{names}"
        "<published>2024-01-22T18:00:00Z</published><updated>2024-02-01T10:00:00Z</updated>"
        f'<link href="https://arxiv.org/abs/{arxiv_id}" rel="alternate" type="text/html"/>'
        f'<link href="https://arxiv.org/pdf/{arxiv_id}" rel="related" type="application/pdf" title="pdf"/>'
        f'<{prefix}:primary_category term="cs.CL"/><category term="cs.CL"/><category term="cs.LG"/>'
        f"{extra}</entry>"
    )


# -- real answers -----------------------------------------------------------------------------


def test_2016_format_per_element_namespaces():
    result = parse_feed(OLD)
    assert (result.total_results, result.start, result.items_per_page, result.skipped) == (1, 0, 10, 0)
    (paper,) = result.papers
    assert paper == {
        "id": "cond-mat/0603029",
        "version": 1,
        "title": "From stripe to checkerboard order on the square lattice in the presence of quenched disorder",
        "authors": ["Adrian Del Maestro", "Bernd Rosenow", "Subir Sachdev"],
        "abstract": paper["abstract"],
        "categories": ["cond-mat.str-el", "cond-mat.supr-con"],
        "primary_category": "cond-mat.str-el",
        "published": "2006-03-02T02:22:45.000000Z",
        "updated": "2006-03-02T02:22:45.000000Z",
        "links": {
            "abs": "http://arxiv.org/abs/cond-mat/0603029v1",
            "pdf": "http://arxiv.org/pdf/cond-mat/0603029v1",
            "doi": "http://dx.doi.org/10.1103/PhysRevB.74.024520",
        },
        "comment": "10 pages, 11 figures; added reference",
        "journal_ref": "Phys. Rev. B 74, 024520 (2006)",
        "doi": "10.1103/PhysRevB.74.024520",
        "url": "https://arxiv.org/abs/cond-mat/0603029",
    }
    assert paper["abstract"].startswith("We discuss the effects of quenched disorder on a model of charge density wave (CDW)")
    assert paper["abstract"].endswith("measured in scanning tunneling microscopy experiments.")
    assert "\n" not in paper["abstract"] and "  " not in paper["abstract"]


def test_2026_format_namespaces_on_feed_and_a_title_that_is_zero():
    result = parse_feed(NEW)
    assert (result.total_results, result.start, result.items_per_page) == (1, 0, 100)
    (paper,) = result.papers
    assert paper["title"] == "0"
    assert {k: v for k, v in paper.items() if k != "abstract"} == {
        "id": "2104.12255",
        "version": 1,
        "title": "0",
        "authors": ["Quan Thoi Minh Nguyen"],
        "categories": ["cs.CR"],
        "primary_category": "cs.CR",
        "published": "2021-04-20T16:07:14.000000Z",
        "updated": "2021-04-20T16:07:14.000000Z",
        "links": {"abs": "https://arxiv.org/abs/2104.12255v1", "pdf": "https://arxiv.org/pdf/2104.12255v1", "doi": None},
        "comment": None,
        "journal_ref": None,
        "doi": None,
        "url": "https://arxiv.org/abs/2104.12255",
    }
    assert paper["abstract"].startswith("What is the funniest number in cryptography? 0.")


def test_both_formats_have_the_same_shape():
    (old,), (new,) = parse_feed(OLD).papers, parse_feed(NEW).papers
    assert set(old) == set(new) == PAPER_KEYS
    assert set(old["links"]) == set(new["links"]) == {"abs", "pdf", "doi"}
    for key in PAPER_KEYS:
        assert type(old[key]) is type(new[key]) or None in (old[key], new[key]), key


def test_the_error_entry_is_an_error_not_a_paper():
    with pytest.raises(ArxivError) as info:
        parse_feed(ERROR)
    assert str(info.value) == "arXiv refused the query: incorrect id format for abc"
    assert info.value.error_id == "https://arxiv.org/api/errors#incorrect_id_format_for_abc"
    assert info.value.retryable is False
    assert isinstance(info.value, ArxivResponseError)


def test_a_paper_titled_error_is_a_paper():
    (paper,) = parse_feed(page(entry(title="Error"))).papers
    assert paper["title"] == "Error"


def test_all_authors_in_order_even_alike_names():
    names = tuple(f"Author {i:03d}" for i in range(60)) + ("Author 000",)
    (paper,) = parse_feed(page(entry(authors=names))).papers
    assert paper["authors"] == list(names)


def test_whitespace_folded_in_title_abstract_comment():
    extra = "<arxiv:comment>  12 pages,\n\t 3 figures </arxiv:comment><arxiv:journal_ref>J.\n X</arxiv:journal_ref>"
    (paper,) = parse_feed(page(entry(title="  A\n   title\twith  breaks ", summary="\n  One.\n Two.  ", extra=extra))).papers
    assert (paper["title"], paper["abstract"], paper["comment"], paper["journal_ref"]) == (
        "A title with breaks", "One. Two.", "12 pages, 3 figures", "J. X"
    )


def test_a_blank_title_is_none():
    (paper,) = parse_feed(page(entry(title="   \n  "))).papers
    assert paper["title"] is None


def test_namespaces_are_matched_by_uri_not_prefix():
    (paper,) = parse_feed(page(entry(prefix="ax", extra="<ax:comment>c</ax:comment>"), prefix="ax")).papers
    assert (paper["primary_category"], paper["comment"]) == ("cs.CL", "c")


def test_duplicate_entries_are_one_paper():
    result = parse_feed(page(entry("2401.12345v2") + entry("2401.12345v3"), total=2))
    assert [(p["id"], p["version"]) for p in result.papers] == [("2401.12345", 2)]


def test_an_entry_without_an_arxiv_id_is_skipped_and_counted():
    broken = entry().replace("http://arxiv.org/abs/2401.12345v2</id>", "urn:something-else</id>")
    result = parse_feed(page(broken + entry("2402.00001v1"), total=2))
    assert ([p["id"] for p in result.papers], result.skipped) == (["2402.00001"], 1)


# -- empty pages ------------------------------------------------------------------------------


def test_an_empty_page_that_should_have_entries_is_a_retry():
    with pytest.raises(ArxivEmptyPage) as info:
        parse_feed(page("", total=250, start=100, per_page=100))
    assert (info.value.total_results, info.value.start, info.value.retryable) == (250, 100, True)


@pytest.mark.parametrize("total, start", [(0, 0), (100, 100), (100, 200)])
def test_no_results_or_past_the_end_is_an_empty_page(total, start):
    assert parse_feed(page("", total=total, start=start)) == ArxivPage([], total, start, 10)


def test_no_counts_and_no_entries_is_empty_with_unknown_totals():
    assert parse_feed(page("", total=None)) == ArxivPage([], None, None, None)


# -- malformed --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"  \n",
        b"<!DOCTYPE html><html><body>503 Service Unavailable</body></html>",
        b'{"error": "rate limited"}',
        NEW[: len(NEW) // 2],
        b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
        b"\xff\xfe\x00\x00garbage",
    ],
)
def test_what_is_not_an_arxiv_feed_is_malformed(data):
    with pytest.raises(ArxivMalformed) as info:
        parse_feed(data)
    assert info.value.retryable is True


@pytest.mark.parametrize("data", ["<feed/>", None, 3])
def test_only_bytes_are_read(data):
    with pytest.raises(ArxivMalformed):
        parse_feed(data)


def test_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(arxiv, "MAX_BYTES", 100)
    with pytest.raises(ArxivMalformed, match="over the 100-byte limit"):
        parse_feed(NEW)


LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))


@pytest.mark.parametrize(
    "doctype",
    [
        f'<!DOCTYPE feed [<!ENTITY lol0 "lol">{LAUGHS}]>',
        '<!DOCTYPE feed [<!ENTITY big "' + "A" * 10_000 + '">]>',
        '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/evil.dtd">',
    ],
)
def test_dtds_and_entities_are_refused_unexpanded(doctype):
    body = page(entry(title="&lol9; &big; &xxe;")).decode().replace("?>", "?>" + doctype, 1)
    with pytest.raises(ArxivMalformed, match="refused"):
        parse_feed(body.encode())


def test_external_entities_fetch_nothing(http):
    for doctype in (
        f'<!DOCTYPE feed [<!ENTITY xxe SYSTEM "{http.url("/e")}">]>',
        f'<!DOCTYPE feed [<!ENTITY % p SYSTEM "{http.url("/p")}"> %p;]>',
        f'<!DOCTYPE feed SYSTEM "{http.url("/dtd")}">',
    ):
        body = page(entry(title="&xxe;")).decode().replace("?>", "?>" + doctype, 1)
        with pytest.raises(ArxivMalformed):
            parse_feed(body.encode())
    assert http.requests == []


# -- hostile content --------------------------------------------------------------------------

HOSTILE = [
    "<!channel> <@U123> <https://evil.example|click>",
    "<script>alert(1)</script>",
    "right\u202eto\u200fleft",
    "**md** [x](javascript:alert(1))",
    "&amp;lt; stays literal",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_survives(value):
    extra = f"<arxiv:comment><![CDATA[{value}]]></arxiv:comment>"
    (paper,) = parse_feed(page(entry(title=value, summary=value, authors=(value,), extra=extra))).papers
    assert paper["title"] == paper["abstract"] == paper["comment"] == value
    assert paper["authors"] == [value]


def test_200kb_strings_are_capped():
    big = "word " * 40_000
    (paper,) = parse_feed(page(entry(title=big, summary=big))).papers
    assert len(paper["title"]) == arxiv.MAX_TITLE
    assert len(paper["abstract"]) == arxiv.MAX_ABSTRACT


def test_lone_surrogates_cannot_arrive_and_nul_is_refused():
    # XML 1.0 can carry neither: an answer with either is malformed, not a paper.
    with pytest.raises(ArxivMalformed):
        parse_feed(page(entry(title="a\x00b")))
    with pytest.raises(ArxivMalformed):
        parse_feed(page(entry()).replace(b"A title", b"&#xD800;"))


# -- ids, keys, URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2401.12345v2", ("2401.12345", 2)),
        ("2401.12345", ("2401.12345", None)),
        ("0704.0001", ("0704.0001", None)),
        ("arXiv:2305.18290", ("2305.18290", None)),
        ("arxiv:2305.18290v1", ("2305.18290", 1)),
        ("https://arxiv.org/abs/2401.12345v10", ("2401.12345", 10)),
        ("https://arxiv.org/pdf/2401.12345v3.pdf", ("2401.12345", 3)),
        ("http://arxiv.org/abs/hep-th/9901001v1", ("hep-th/9901001", 1)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.GT/0309136v2", ("math.GT/0309136", 2)),
        ("cond-mat/0603029", ("cond-mat/0603029", None)),
        ("2401.123456", None),
        ("12345", None),
        ("x2401.12345", None),
        ("hep-th/990100", None),
        ("٢٤٠١.١٢٣٤٥", None),  # Arabic-Indic digits are not arXiv's
        ("", None),
        (None, None),
        (2401.12345, None),
    ],
)
def test_split_id(value, expected):
    assert split_id(value) == expected


@pytest.mark.parametrize(
    "value, key",
    [("2401.12345v2", "paper:arxiv/2401.12345"), ("hep-th/9901001v1", "paper:arxiv/hep-th/9901001"),
     ("arXiv:2401.12345", "paper:arxiv/2401.12345")],
)
def test_paper_key_strips_the_version(value, key):
    assert paper_key(value) == key


@pytest.mark.parametrize("value", ["", "abc", None, "1234.567"])
def test_paper_key_refuses_non_ids(value):
    with pytest.raises(ValueError):
        paper_key(value)


def params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert parts.path == "/api/query"
    return {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


@pytest.mark.parametrize(
    "query, categories, search",
    [
        ('abs:"open-weight"', (), 'abs:"open-weight"'),
        ('abs:"open-weight"', ("cs.CL",), '(abs:"open-weight") AND cat:cs.CL'),
        ('abs:"open-weight"', ("cs.CL", "cs.LG"), '(abs:"open-weight") AND (cat:cs.CL OR cat:cs.LG)'),
        (None, ("cs.CL", "cs.LG"), "cat:cs.CL OR cat:cs.LG"),
        ("  ", ("hep-th",), "cat:hep-th"),
        ("ti:a & b+c #d", (), "ti:a & b+c #d"),
    ],
)
def test_query_url(query, categories, search):
    url = query_url("https://export.arxiv.org/", query, categories, start=200, max_results=100)
    assert url.startswith("https://export.arxiv.org/api/query?")
    assert params(url) == {
        "search_query": search, "start": "200", "max_results": "100",
        "sortBy": "submittedDate", "sortOrder": "descending",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query": None, "categories": ()},
        {"query": "x", "categories": ("cs CL",)},
        {"query": "x", "categories": ("cs.CL) OR (all:x",)},
        {"query": "x", "start": -1},
        {"query": "x", "start": True},
        {"query": "x", "max_results": 0},
        {"query": "x", "max_results": 2001},
        {"query": "x" * 5000},
    ],
)
def test_query_url_refuses(kwargs):
    with pytest.raises(ValueError):
        query_url("https://export.arxiv.org", **kwargs)


# -- any bytes --------------------------------------------------------------------------------


def check(result: ArxivPage) -> None:
    assert isinstance(result, ArxivPage)
    for paper in result.papers:
        assert set(paper) == PAPER_KEYS
        assert split_id(paper["id"])[0] == paper["id"]
        paper_key(paper["id"])
        assert all(isinstance(a, str) and a for a in paper["authors"])
        for name in ("title", "abstract", "comment", "journal_ref", "doi", "primary_category"):
            assert paper[name] is None or isinstance(paper[name], str)


def parse_or_refuse(data: bytes) -> None:
    try:
        result = parse_feed(data)
    except ArxivResponseError:
        return
    check(result)


FRAGMENTS = st.sampled_from([
    "<entry>", "</entry>", "<title>", "</title>", "<id>http://arxiv.org/abs/", "2401.12345v1", "</id>",
    "<author><name>", "</name></author>", "<summary>", "</summary>", "<![CDATA[", "]]>", "&amp;", "&",
    "<", ">", "<category term=\"cs.CL\"/>", "<arxiv:primary_category term=\"x\"/>", "<id>https://arxiv.org/api/errors#x</id>",
    "<opensearch:totalResults>5</opensearch:totalResults>", "<published>2024-01-01T00:00:00Z</published>",
    "<link href=\"x\" title=\"pdf\"/>", "\u202e", "é", " ", "\n", "<!--", "-->",
])


@pytest.mark.timeout(300)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_any_bytes_give_papers_or_an_arxiv_error(data):
    parse_or_refuse(data)


@pytest.mark.timeout(300)
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=15)), max_size=60))
def test_arxiv_shaped_garbage_gives_papers_or_an_arxiv_error(parts):
    parse_or_refuse(page("<entry>" + "".join(parts) + "</entry>", total=3))
    parse_or_refuse(page("".join(parts), total=3))


@pytest.mark.timeout(300)
@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(OLD)), st.integers(0, 200), st.binary(max_size=50))
def test_a_real_answer_damaged_anywhere_gives_papers_or_an_arxiv_error(at, cut, junk):
    parse_or_refuse(OLD[:at] + junk + OLD[at + cut:])


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), min_size=1, max_size=80))
def test_any_text_survives_folded(value):
    (paper,) = parse_feed(page(entry(title=value, summary=value, authors=(value,)))).papers
    folded = " ".join(value.split()) or None
    assert paper["title"] == paper["abstract"] == folded
    assert paper["authors"] == ([folded] if folded else [])
    assert quoteattr(value)  # the generator stays within what XML can carry
