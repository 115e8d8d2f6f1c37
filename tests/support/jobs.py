from consult.jobs.services import jobs_run_all


def due_jobs_run(**kwargs):
    """Every periodic job, as `run_due_jobs` runs them; a test fails on any job that failed
    (the runner itself only logs and records a failure, so the other jobs still run)."""
    outcomes = jobs_run_all(**kwargs)
    assert [outcome for outcome in outcomes if not outcome.ok] == []
    return outcomes
