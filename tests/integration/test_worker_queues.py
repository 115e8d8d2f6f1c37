"""check_workers looks at every queue: with a worker per queue (the README's production
example), one missing left its work waiting while the check said all was well."""

import pytest
from django.core.management import CommandError, call_command

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_check_workers_names_a_queue_no_worker_takes_from(stack, capsys):
    call_command("check_workers")  # the stack's worker takes from every queue
    said = capsys.readouterr().out
    assert all(f"queue {name}: consumed" in said for name in ("celery", "exports", "notifications"))

    stack.worker.stop()
    mail_and_jobs = stack.new_worker(queues="celery,notifications")
    stack.worker = mail_and_jobs
    mail_and_jobs.start()
    with pytest.raises(CommandError, match="no worker takes from the queue 'exports'"):
        call_command("check_workers")
    assert "queue exports: no worker takes from it" in capsys.readouterr().err
