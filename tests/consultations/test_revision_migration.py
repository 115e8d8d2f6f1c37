"""The migration to revisions: every consultation already stored gets revision 1, published and
current, holding its text, its period and all its clauses."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("consultations", "0003_directory_version")]
AFTER = [("consultations", "0006_clause_revision_required")]


@pytest.fixture
def schema_restored_afterwards():
    """Going back to BEFORE unapplies the other apps' later migrations too: whatever happens,
    the next test finds every migration applied."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_consultations_get_their_first_revision(schema_restored_afterwards):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Department = apps.get_model("consultations", "Department")
    Consultation = apps.get_model("consultations", "Consultation")
    Clause = apps.get_model("consultations", "Clause")
    now = timezone.now()
    consultation = Consultation.objects.create(
        title="旧的征求意见",
        slug="old",
        issuer=Department.objects.create(name="市海渔局"),
        draft_title="工作方案",
        source_text="原文",
        opens_at=now - datetime.timedelta(days=3),
        closes_at=now + datetime.timedelta(days=3),
    )
    top = Clause.objects.create(
        consultation=consultation, position=1, path="0001", number="一", label="一", level="cn"
    )
    Clause.objects.create(
        consultation=consultation,
        parent=top,
        position=1,
        path="0001.0001",
        number="(一)",
        label="一(一)",
        level="paren",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    Consultation = apps.get_model("consultations", "Consultation")
    Revision = apps.get_model("consultations", "Revision")
    consultation = Consultation.objects.get(slug="old")
    revision = Revision.objects.get(consultation=consultation)
    assert revision.number == 1 and revision.published_at is not None
    assert (revision.draft_title, revision.source_text) == ("工作方案", "原文")
    assert (revision.opens_at, revision.closes_at) == (
        consultation.opens_at,
        consultation.closes_at,
    )
    assert consultation.current_revision_id == revision.pk
    assert set(revision.clauses.values_list("path", flat=True)) == {"0001", "0001.0001"}
