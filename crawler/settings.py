"""Scrapy settings for openwatch's spiders (https://docs.scrapy.org/en/latest/topics/settings.html).

`jobs/crawls/settings.py` adds each crawl's values (User-Agent, timeouts, the history database);
spiders get their endpoints as arguments."""

from crawler.identity import user_agent
from crawler.rules import SHORT_LISTING_RATIO

BOT_NAME = "openwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = user_agent()
ROBOTSTXT_OBEY = False  # JSON APIs, not pages; politeness is pacing and rate-limit headers
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 60
DOWNLOAD_MAXSIZE = 64 * 1024 * 1024  # one listing page of 1000 full models is a few MB
DOWNLOAD_WARNSIZE = 16 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True     # a truncated body is an error, never a short listing
# Items are ingested strictly in the order the spider yields them (listing end comes last).
CONCURRENT_ITEMS = 1

RETRY_ENABLED = True
RETRY_TIMES = 2
# 429 is ours (RateLimitMiddleware waits out the server's RateLimit / Retry-After).
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]
HTTPERROR_ALLOW_ALL = True  # spiders judge statuses themselves (401 RepoNotFound is an answer)

# Scrapy's HTTP/1.1 handler, but a cut crawl aborts its downloads instead of waiting for them.
DOWNLOAD_HANDLERS = {
    "http": "crawler.cut.CuttableHTTPDownloadHandler",
    "https": "crawler.cut.CuttableHTTPDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.RateLimitMiddleware": 560,  # before RetryMiddleware (550) sees responses
    "crawler.middlewares.BudgetMiddleware": 570,     # paces requests to the servers' quotas
}
ITEM_PIPELINES = {
    "crawler.pipelines.IngestPipeline": 900,
}
# Components openwatch does not use are not loaded at all: each costs start-up time on every
# crawl, and two open ports. Scrapy 2.19's RemoteControl starts an HTTP server that executes
# code (and imports aiohttp); the telnet console is a Python shell; cookies pull in tldextract
# and requests. Setting a component to None in EXTENSIONS still imports it (measured:
# bench/RESULTS.md, "Fixed costs"), so the *_BASE dicts list only what is used. JSON APIs set
# no cookies and have no meta refresh; robots.txt is off above; there is no HTTP auth.
EXTENSIONS_BASE = {
    "scrapy.extensions.corestats.CoreStats": 0,
    "scrapy.extensions.logcount.LogCount": 0,
    "scrapy.extensions.memusage.MemoryUsage": 0,
    "scrapy.extensions.closespider.CloseSpider": 0,
    "scrapy.extensions.feedexport.FeedExporter": 0,   # `scrapy crawl … -O items.jl`, Scrapyd items
    "scrapy.extensions.logstats.LogStats": 0,
}
DOWNLOADER_MIDDLEWARES_BASE = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": 50,
    "scrapy.downloadermiddlewares.downloadtimeout.DownloadTimeoutMiddleware": 350,
    "scrapy.downloadermiddlewares.defaultheaders.DefaultHeadersMiddleware": 400,
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": 500,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": 550,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": 600,   # HF 307 / GitHub 301 renames
    "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware": 750,  # users behind a proxy
    "scrapy.downloadermiddlewares.stats.DownloaderStats": 850,
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": 900,  # arXiv's daily cache
}
SPIDER_MIDDLEWARES_BASE = {
    "scrapy.spidermiddlewares.start.StartSpiderMiddleware": 25,
    "scrapy.spidermiddlewares.httperror.HttpErrorMiddleware": 50,
    "scrapy.spidermiddlewares.referer.RefererMiddleware": 700,  # RedirectMiddleware expects it
}
COOKIES_ENABLED = False
# Belt and braces for the two ports (SECURITY.md, "Other users of the machine"): besides
# EXTENSIONS_BASE above (which leaves them out), their own switches. RemoteControl's /execute runs any Python it is sent and
# writes its bearer token to a job file in the user's state directory; tested by
# tests/e2e/test_secrets_exposure.py (no listening socket in a crawl).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # the setting's real name (scrapy/extensions/remote_control.py)
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# openwatch's own settings (the job runner sets the database; `scrapy crawl` may pass them with -s)
OPENWATCH_DATABASE = None        # path of the history DB; without it items are not ingested
OPENWATCH_CONFIG = None          # path of openwatch.toml (subscriptions for the outbox)
OPENWATCH_HF_ENDPOINT = "https://huggingface.co"  # the huggingface spider's, without an endpoint argument
OPENWATCH_SHORT_LISTING_RATIO = SHORT_LISTING_RATIO
