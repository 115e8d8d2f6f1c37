"""The migration to a report per revision: a report already stored becomes the report on its
consultation's first draft, published when the consultation's report was."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("consultations", "0003_directory_version"), ("reports", "0004_unanswered_reason")]
AFTER = [("reports", "0007_report_revision_required")]


@pytest.mark.django_db(transaction=True)
def test_an_existing_report_becomes_the_first_draft_s():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        apps = executor.loader.project_state(BEFORE).apps
        Department = apps.get_model("consultations", "Department")
        Consultation = apps.get_model("consultations", "Consultation")
        AdoptionReport = apps.get_model("reports", "AdoptionReport")
        now = timezone.now().replace(microsecond=0)
        published = now - datetime.timedelta(days=1)
        consultation = Consultation.objects.create(
            title="旧的征求意见",
            slug="old",
            issuer=Department.objects.create(name="市海渔局"),
            opens_at=now - datetime.timedelta(days=40),
            closes_at=now - datetime.timedelta(days=10),
            report_published_at=published,
        )
        AdoptionReport.objects.create(consultation=consultation, total=3, generated_at=now)

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        apps = executor.loader.project_state(AFTER).apps
        AdoptionReport = apps.get_model("reports", "AdoptionReport")
        report = AdoptionReport.objects.get(consultation__slug="old")
        assert report.revision.number == 1
        assert report.revision.consultation_id == report.consultation_id
        assert report.published_at == published
        assert report.total == 3
    finally:
        # Leave the database as every other test expects it: fully migrated.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_each_revision_learns_when_the_report_on_it_was_published():
    before = [("reports", "0007_report_revision_required")]
    after = [("reports", "0008_revision_report_published_at")]
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        apps = executor.loader.project_state(before).apps
        Department = apps.get_model("consultations", "Department")
        Consultation = apps.get_model("consultations", "Consultation")
        Revision = apps.get_model("consultations", "Revision")
        AdoptionReport = apps.get_model("reports", "AdoptionReport")
        now = timezone.now().replace(microsecond=0)
        published = now - datetime.timedelta(days=1)
        consultation = Consultation.objects.create(
            title="两稿的征求意见",
            slug="two",
            issuer=Department.objects.create(name="市海渔局"),
            opens_at=now - datetime.timedelta(days=40),
            closes_at=now - datetime.timedelta(days=10),
        )
        first, second = (
            Revision.objects.create(consultation=consultation, number=n, published_at=now)
            for n in (1, 2)
        )
        for revision, when in ((first, published), (second, None)):
            AdoptionReport.objects.create(
                consultation=consultation, revision=revision, generated_at=now, published_at=when
            )

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        apps = executor.loader.project_state(after).apps
        Revision = apps.get_model("consultations", "Revision")
        dates = dict(
            Revision.objects.filter(consultation__slug="two").values_list(
                "number", "report_published_at"
            )
        )
        assert dates == {1: published, 2: None}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
