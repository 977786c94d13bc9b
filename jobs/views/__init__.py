"""What people read from the history: the report, its charts, the Atom feed, `status`, the crawl
explanations, the listing output, and the Datasette plugin behind `serve`.

Views only read (the feed and the report write their own file, atomically); the CLI and the
daemon call them. What sources know (endpoints, item URLs, when a unit is read completely)
they ask the source registry (`crawler/sources/`).

    report.py, charts.py, templates/   `openwatch report`: one HTML page with inline SVG charts
    feed.py                            `openwatch feed` and the daemon's `feed_path`: Atom
    status.py                          `openwatch status`, and when each watch runs next
    explain.py                         a crawl's errors as the reader can act on them
    output.py                          `--json`, `--nl`, `--csv` or a table, for every listing
    serve.py, datasette_plugin.py      `openwatch serve`: Datasette, live and read-only
    files.py                           writing a view to disk atomically
"""
