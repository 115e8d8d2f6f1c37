"""A consultation's life by the clock, exact to the second in Asia/Shanghai."""

import datetime
import zoneinfo

import pytest

from consult.consultations.models import Consultation
from tests.factories import ConsultationFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CLOSE = datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=SHANGHAI)
OPEN = datetime.datetime(2024, 10, 11, 0, 0, 0, tzinfo=SHANGHAI)

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultation():
    return ConsultationFactory(opens_at=OPEN, closes_at=CLOSE)


def test_comments_are_accepted_through_the_last_second(consultation):
    assert consultation.accepts_comments_at(CLOSE)
    assert consultation.accepts_comments_at(CLOSE + datetime.timedelta(microseconds=999_999))


def test_comments_are_refused_from_the_next_second(consultation):
    assert not consultation.accepts_comments_at(CLOSE + datetime.timedelta(seconds=1))


def test_comments_are_refused_a_second_before_opening(consultation):
    assert not consultation.accepts_comments_at(OPEN - datetime.timedelta(seconds=1))
    assert consultation.accepts_comments_at(OPEN)


def test_status_follows_the_clock(consultation):
    assert consultation.status_at(OPEN - datetime.timedelta(seconds=1)) == "upcoming"
    assert consultation.status_at(OPEN) == "open"
    assert consultation.status_at(CLOSE) == "open"
    assert consultation.status_at(CLOSE + datetime.timedelta(seconds=1)) == "closed"


def test_status_after_the_report_is_published(consultation):
    consultation.report_published_at = CLOSE + datetime.timedelta(days=20)
    assert consultation.status_at(CLOSE + datetime.timedelta(days=21)) == "report_published"


def test_open_at_queryset_agrees_with_the_instance(consultation):
    assert list(Consultation.objects.open_at(CLOSE)) == [consultation]
    assert list(Consultation.objects.open_at(CLOSE + datetime.timedelta(seconds=1))) == []
    # A report out (its period moved past it afterwards) closes it in both.
    consultation.report_published_at = CLOSE - datetime.timedelta(days=1)
    consultation.save(update_fields=["report_published_at"])
    assert not consultation.accepts_comments_at(CLOSE)
    assert list(Consultation.objects.open_at(CLOSE)) == []


def test_answer_deadline_defaults_to_fifteen_days_after_the_close(consultation):
    assert consultation.answer_deadline == datetime.datetime(
        2024, 11, 25, 23, 59, 59, tzinfo=SHANGHAI
    )


def test_database_refuses_a_consultation_that_closes_before_it_opens():
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        ConsultationFactory(opens_at=CLOSE, closes_at=OPEN)


def test_the_comment_apis_lookup_reads_what_the_orm_reads(consultation):
    from consult.consultations.models import CONSULTATION_TEXTS, consultation_without_texts

    consultation.report_published_at = CLOSE + datetime.timedelta(days=20, microseconds=7)
    consultation.save()
    expected = Consultation.objects.without_texts().get(pk=consultation.pk)
    found = consultation_without_texts(consultation.slug)
    assert found.get_deferred_fields() == expected.get_deferred_fields() == set(CONSULTATION_TEXTS)
    for field in Consultation._meta.concrete_fields:
        if field.name not in CONSULTATION_TEXTS:
            value = getattr(found, field.attname)
            assert value == getattr(expected, field.attname), field.name
            assert type(value) is type(getattr(expected, field.attname)), field.name
    assert found.closes_at == CLOSE and found.closes_at.utcoffset() is not None
    # A deferred text is read when asked for, as the ORM's own instance would.
    assert found.preamble == Consultation.objects.get(pk=consultation.pk).preamble
    assert consultation_without_texts(consultation.slug + "-no") is None
