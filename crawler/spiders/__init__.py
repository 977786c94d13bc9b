"""One spider per source. `spider_for(source)` finds the class by its `source` attribute."""

from __future__ import annotations


def spider_for(source: str):
    from crawler.spiders.huggingface import HuggingFaceSpider

    spiders = {cls.source: cls for cls in (HuggingFaceSpider,)}
    try:
        return spiders[source]
    except KeyError:
        raise LookupError(
            f"source {source!r} has no spider yet; implemented: {', '.join(sorted(spiders))}"
        ) from None
