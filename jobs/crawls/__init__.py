"""How a crawl runs: one interface (`base.CrawlExecutor`), chosen by alias.

- `inprocess`: on the daemon's own loop (Scrapy's `AsyncCrawlerRunner`), the default;
- `subprocess`: one `python -m jobs crawl WATCH` child per crawl (`OPENWATCH_CRAWL_MODE`);
- `scrapyd`: as a Scrapyd job, its items ingested here (`jobs.scrapyd.executor`), whenever
  the config has a `[scrapyd]` section.

`settings` builds every crawl's Scrapy settings; `store` opens the history store wired to
the outbox and records what follows a crawl (watch health, the feed). The crawl's own row and
counts are `crawler.bookkeeping`'s, whichever way it ran.
"""
