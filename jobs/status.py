from jobs.views.status import last_finished, next_run, status_report  # noqa: F401  # seam: moved to jobs/views/status.py (importers: jobs/scheduler.py, tests/test_scheduler.py)
