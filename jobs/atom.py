from jobs.views.feed import write_feed  # noqa: F401  # seam: moved to jobs/views/feed.py (importer: jobs/scheduler.py)
