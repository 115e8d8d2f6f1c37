"""Revisions of a consultation: the first draft, later drafts with their own clauses, the
links a coordinator confirms, and publishing, which makes a revision the current text."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consult.consultations.models import ClauseLink, Consultation, Revision
from consult.consultations.revisions import (
    link_correct,
    link_drop,
    links_confirm,
    links_store,
    revision_create,
    revision_first,
    revision_mark_published,
)
from tests.factories import ClauseFactory, ConsultationFactory

pytestmark = pytest.mark.django_db

KIND = ClauseLink.Kind


@pytest.fixture
def coordinator():
    return get_user_model().objects.create_user("coordinator")


@pytest.fixture
def drafts():
    """A first draft of three clauses, its period over, and an unpublished second draft of two
    (without a period of its own: published only once the first draft's has closed)."""
    now = timezone.now()
    consultation = ConsultationFactory(
        opens_at=now - datetime.timedelta(days=40), closes_at=now - datetime.timedelta(days=10)
    )
    first = revision_first(consultation)
    olds = [
        ClauseFactory(consultation=consultation, revision=first, position=i, text=text)
        for i, text in enumerate(["保留的条款。", "将要合并的甲。", "将要合并的乙。"], start=1)
    ]
    second = revision_create(consultation, draft_title="第二稿")
    news = [
        ClauseFactory(consultation=consultation, revision=second, position=i, text=text)
        for i, text in enumerate(["保留的条款。", "合并后的甲乙。"], start=1)
    ]
    links_store(
        second,
        [
            (olds[0].pk, news[0].pk, KIND.KEPT, 1.0),
            (olds[1].pk, news[1].pk, KIND.MERGED, 0.8),
            (olds[2].pk, news[1].pk, KIND.MERGED, 0.4),
        ],
    )
    return consultation, first, second, olds, news


def test_a_consultation_s_first_draft_is_published_and_current_from_the_start():
    consultation = ConsultationFactory()
    revision = revision_first(consultation)
    assert (revision.number, revision.published_at is not None) == (1, True)
    assert (revision.opens_at, revision.closes_at) == (
        consultation.opens_at,
        consultation.closes_at,
    )
    consultation.refresh_from_db()
    assert consultation.current_revision == revision
    assert revision_first(consultation) == revision  # made once


def test_every_imported_consultation_has_its_clauses_in_revision_one(weifang_open):
    revision = weifang_open.current_revision
    assert revision.number == 1
    assert weifang_open.clauses.exclude(revision=revision).count() == 0
    assert weifang_open.current_clauses().count() == weifang_open.clauses.count() > 20


def test_the_same_path_may_repeat_in_another_revision_but_not_in_one(drafts):
    consultation, _first, second, olds, news = drafts
    assert olds[0].path == news[0].path
    with pytest.raises(IntegrityError), transaction.atomic():
        ClauseFactory(consultation=consultation, revision=second, position=1)


def test_the_next_revision_waits_until_the_last_one_is_published(drafts):
    consultation, *_rest = drafts
    with pytest.raises(ValidationError) as refused:
        revision_create(consultation)
    assert refused.value.code == "unpublished_revision"


def test_a_final_text_has_no_comment_period_and_nothing_follows_it(drafts, coordinator):
    consultation, _first, second, *_rest = drafts
    links_confirm(second.links.all(), by=coordinator)
    revision_mark_published(second)
    now = timezone.now()
    final = revision_create(
        consultation, is_final=True, opens_at=now, closes_at=now + datetime.timedelta(days=3)
    )
    assert (final.number, final.opens_at, final.closes_at) == (3, None, None)
    links_store(final, [])
    revision_mark_published(final)
    with pytest.raises(ValidationError) as refused:
        revision_create(consultation)
    assert refused.value.code == "final_published"


def test_a_period_must_be_whole_and_in_order():
    consultation = ConsultationFactory()
    revision_first(consultation)
    now = timezone.now()
    with pytest.raises(ValidationError) as refused:
        revision_create(consultation, opens_at=now)
    assert refused.value.code == "period_incomplete"
    with pytest.raises(ValidationError) as refused:
        revision_create(consultation, opens_at=now, closes_at=now)
    assert refused.value.code == "period_reversed"
    assert Revision.objects.filter(consultation=consultation).count() == 1


def test_publishing_is_refused_while_any_link_is_unconfirmed(drafts, coordinator):
    consultation, first, second, *_rest = drafts
    links_confirm(second.links.filter(score__gte=0.75), by=coordinator)
    with pytest.raises(ValidationError) as refused:
        revision_mark_published(second)
    assert (refused.value.code, refused.value.params) == ("unconfirmed", {"count": 1})
    consultation.refresh_from_db()
    assert consultation.current_revision == first


def test_publishing_makes_the_revision_current_with_its_period_and_raises_the_directory(
    drafts, coordinator
):
    consultation, first, second, _olds, news = drafts
    now = timezone.now().replace(microsecond=0)
    second.opens_at = now + datetime.timedelta(days=2)
    second.closes_at = now + datetime.timedelta(days=20)
    second.save()
    first_period = (first.opens_at, first.closes_at)
    version = Consultation.objects.get(pk=consultation.pk).directory_version
    links_confirm(second.links.all(), by=coordinator)

    assert revision_mark_published(second, now=now) is True
    consultation.refresh_from_db()
    first.refresh_from_db()
    assert consultation.current_revision == second
    assert list(consultation.current_clauses()) == news
    assert (consultation.opens_at, consultation.closes_at) == (second.opens_at, second.closes_at)
    assert consultation.draft_title == "第二稿"
    assert (first.opens_at, first.closes_at) == first_period  # the earlier one keeps its own
    assert consultation.directory_version > version
    # Publishing again changes nothing.
    assert revision_mark_published(second) is False
    second.refresh_from_db()
    assert second.published_at == now


def test_a_final_text_leaves_the_closed_period_as_it_was(drafts, coordinator):
    consultation, _first, second, *_rest = drafts
    links_confirm(second.links.all(), by=coordinator)
    revision_mark_published(second)
    consultation.refresh_from_db()
    period = (consultation.opens_at, consultation.closes_at)
    final = revision_create(consultation, is_final=True)
    links_store(final, [])
    revision_mark_published(final)
    consultation.refresh_from_db()
    assert (consultation.opens_at, consultation.closes_at) == period
    assert consultation.current_revision == final


def test_correcting_a_new_clause_replaces_its_links_and_marks_what_it_left_behind(
    drafts, coordinator
):
    _consultation, _first, second, olds, news = drafts
    # The coordinator says the second new clause comes from the second old clause only.
    link_correct(second, new=news[1], olds=[olds[1]], kind=KIND.REWORDED, by=coordinator)
    links = {(link.old_id, link.new_id): link for link in second.links.all()}
    assert links[(olds[1].pk, news[1].pk)].kind == KIND.REWORDED
    assert links[(olds[1].pk, news[1].pk)].confirmed_by == coordinator
    assert links[(olds[1].pk, news[1].pk)].score == 1.0
    # The third old clause went nowhere now: dropped, left for the coordinator to look at.
    dropped = links[(olds[2].pk, None)]
    assert (dropped.kind, dropped.is_confirmed) == (KIND.DROPPED, False)

    # Merging it back takes its "dropped" link away.
    link_correct(second, new=news[1], olds=olds[1:], kind=KIND.REWORDED, by=coordinator)
    kinds = {(link.old_id, link.new_id): link.kind for link in second.links.all()}
    assert kinds[(olds[1].pk, news[1].pk)] == kinds[(olds[2].pk, news[1].pk)] == KIND.MERGED
    assert (olds[2].pk, None) not in kinds


def test_a_new_clause_with_no_predecessor_is_new(drafts, coordinator):
    _consultation, _first, second, olds, news = drafts
    link_correct(second, new=news[1], olds=[], kind=KIND.KEPT, by=coordinator)
    kinds = {(link.old_id, link.new_id): link.kind for link in second.links.all()}
    assert kinds[(None, news[1].pk)] == KIND.NEW
    assert kinds[(olds[1].pk, None)] == kinds[(olds[2].pk, None)] == KIND.DROPPED


def test_dropping_an_old_clause_leaves_an_orphaned_new_clause_marked_new(drafts, coordinator):
    _consultation, _first, second, olds, news = drafts
    link_drop(second, old=olds[0], by=coordinator)
    kinds = {(link.old_id, link.new_id): link for link in second.links.all()}
    assert kinds[(olds[0].pk, None)].kind == KIND.DROPPED
    assert kinds[(olds[0].pk, None)].is_confirmed
    assert kinds[(None, news[0].pk)].kind == KIND.NEW
    assert not kinds[(None, news[0].pk)].is_confirmed


def test_corrections_refuse_clauses_of_other_revisions_and_wrong_kinds(drafts, coordinator):
    _consultation, _first, second, olds, news = drafts
    with pytest.raises(ValidationError) as refused:
        link_correct(second, new=olds[0], olds=[olds[1]], kind=KIND.KEPT, by=coordinator)
    assert refused.value.code == "wrong_revision"
    with pytest.raises(ValidationError) as refused:
        link_correct(second, new=news[0], olds=[olds[0]], kind=KIND.DROPPED, by=coordinator)
    assert refused.value.code == "kind_mismatch"


def test_links_of_a_published_revision_cannot_change(drafts, coordinator):
    _consultation, _first, second, olds, _news = drafts
    links_confirm(second.links.all(), by=coordinator)
    revision_mark_published(second)
    with pytest.raises(ValidationError) as refused:
        link_drop(second, old=olds[0], by=coordinator)
    assert refused.value.code == "published"


def test_the_database_refuses_a_link_whose_kind_does_not_fit_its_clauses(drafts):
    _consultation, _first, second, olds, news = drafts
    with pytest.raises(IntegrityError), transaction.atomic():
        ClauseLink.objects.create(revision=second, old=olds[0], kind=KIND.DROPPED, new=news[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        ClauseLink.objects.create(revision=second, kind=KIND.NEW)


def _locking_queries(queries, table):
    return [q["sql"] for q in queries if "FOR UPDATE" in q["sql"] and f'FROM "{table}"' in q["sql"]]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite locks the whole database instead"
)
def test_a_new_revision_s_number_is_taken_under_the_consultation_s_lock():
    """Two imports at once take turns on the consultation's row: no duplicate number (500)."""
    consultation = ConsultationFactory()
    revision_first(consultation)
    with CaptureQueriesContext(connection) as queries:
        revision_create(consultation, draft_title="第二稿")
    assert _locking_queries(queries, Consultation._meta.db_table)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite locks the whole database instead"
)
def test_correcting_a_link_locks_the_revision_against_a_publication_meanwhile(drafts, coordinator):
    _consultation, _first, second, olds, _news = drafts
    with CaptureQueriesContext(connection) as queries:
        link_drop(second, old=olds[2], by=coordinator)
    assert _locking_queries(queries, Revision._meta.db_table)
