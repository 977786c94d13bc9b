"""Crawls as Scrapyd jobs (DESIGN.md, "Beyond one machine"), one concept a module:

- `settings`: the `[scrapyd]` section (`parse_scrapyd_section`, `ScrapydSettings`);
- `client`: Scrapyd's JSON API on one server;
- `egg`: the project egg (without the hub emulator); `deploy`: it, uploaded to every server;
- `prior`: the prior state, served to workers by URL;
- `args`: spider arguments and settings as a job's command line takes them;
- `joblog`: how a job ended, read from its log; its items, read from its feed;
- `pool`: the servers of one section, one job at a time (`ScrapydPool`);
- `executor`: a watch's crawl as a Scrapyd job, ingested here (`ScrapydExecutor`);
- `exceptions`: `ScrapydError`.

`openwatch deploy` itself is a command of `jobs/cli.py`.


    settings = parse_scrapyd_section({"url": ["http://w1:6800", "http://w2:6800"]})
    deploy(settings)                                   # addversion.json on every server
    pool = ScrapydPool(settings)                       # one per daemon: spreads and rotates
    outcome, _ = await ScrapydExecutor(config, pool=pool).crawl(watch)  # a CrawlOutcome
    # or, below the history: a JobOutcome, the job's JSON objects handed to on_items in order
    job = await pool.crawl("huggingface", {"orgs": ["Qwen"], "watch": "labs"},
                           timeout=600, on_items=ingest, prior=prior_state)
    pool.close()

What Scrapyd does, and what follows here (Scrapyd 1.6 source, `scrapyd/launcher.py`,
`environ.py`, `webservice.py`; measured against a real server in tests/jobs/test_scrapyd.py):

- Spider arguments become `-a key=value` command-line arguments of the crawl process. Linux
  caps one argument string at 131,072 bytes (MAX_ARG_STRLEN, the NUL included). A longer one
  is accepted by `schedule.json` (`"status": "ok"`), then `spawnProcess` fails with E2BIG:
  the job vanishes from every list, nothing is logged, and that process slot never runs a job
  again. So every argument is checked here before scheduling (`MAX_ARG_BYTES`), and the
  prior state (what the spider must know of the past, ~220 bytes a model: 2,500 models are
  ~550 kB of JSON, ~200 kB even zlib-compressed and base64-encoded) never travels as an
  argument: it is served by `PriorServer` at an unguessable URL and the spider gets `prior_url`.
- Items: with `items_dir` set, Scrapyd adds `FEEDS` for each job, a JSON-lines file served
  at `/items/<project>/<spider>/<job>.jl` (listjobs' `items_url`). Without it a job's items
  are not reachable over HTTP, so a worker must have `items_dir`; a job without an items
  file is a failed crawl whose error says so.
- listjobs.json says pending, running or finished, never how a job ended: a crawl that was
  cancelled, crashed or was killed is "finished" like a good one. How it ended is read from
  the end of its log (`/logs/...`): Scrapy's stats dump (`'finish_reason': 'finished'`,
  `item_scraped_count`, `downloader/request_count`) and "Spider closed (reason)". The log
  level is therefore at least INFO for every job. A job whose log ends without them died.
- `cancel.json` sends SIGINT: Scrapy shuts down cleanly, the feed is closed, the reason is
  `shutdown`. Scrapyd forgets running and finished jobs when it restarts (pending ones are in
  its SQLite queue and survive); a job no server lists any more has vanished.
- `jobs_to_keep` (default 5) deletes the oldest log and items files of a spider as new jobs
  start: with more concurrent jobs than that, a finished job's items can be gone before they
  are read (that is a failed crawl here). Workers should set it well above `max_proc`.

A job that fails, is cancelled, times out or vanishes is an outcome with status "failed" and
a readable error; nothing here raises for it. Items read from a job that ended badly are still
handed over (never an invented one: a half-written last line is dropped): the store marks a
unit complete only on its end-of-unit item, so a cut job's complete units count and the rest
do not.
"""
