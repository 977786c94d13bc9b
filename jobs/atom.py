from jobs.views.feed import feed_keeper, write_feed  # noqa: F401  # seam: moved to jobs/views/feed.py (importer: jobs/scheduler.py)
