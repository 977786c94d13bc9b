from jobs.views.explain import explain, headline  # noqa: F401  # seam: moved to jobs/views/explain.py (importer: jobs/scheduler.py)
