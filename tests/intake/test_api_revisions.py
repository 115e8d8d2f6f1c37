"""The API once a later revision is the current text: comments go to its clauses only."""

import pytest
from rest_framework.test import APIClient

from consult.comments.models import Comment
from consult.consultations.models import Revision
from tests.support.revisions import clause, weifang_second_draft

pytestmark = pytest.mark.django_db


def payload(clause_id):
    return {
        "clause": clause_id,
        "body": "建议明确集聚区的评价指标。",
        "name": "某某渔业协会",
        "kind": "organisation",
        "organisation": "潍坊市某某渔业协会",
        "phone": "13812345678",
        "email": "office@example.org",
        "consent": True,
    }


def submit(consultation, clause_id):
    return APIClient().post(
        f"/api/consultations/{consultation.slug}/comments/", payload(clause_id), format="json"
    )


def test_a_clause_of_an_earlier_revision_is_refused_naming_the_clause(weifang_open):
    first = weifang_open.current_revision
    old = clause(first, "二(一)1")
    # The process has read the directory before the second draft came out.
    assert submit(weifang_open, old.pk).status_code == 201
    weifang_second_draft(weifang_open)

    response = submit(weifang_open, old.pk)

    assert response.status_code == 400
    errors = response.json()
    assert "clause" in errors, errors
    assert Comment.objects.count() == 1


def test_a_clause_of_the_current_revision_is_accepted(weifang_open):
    second = weifang_second_draft(weifang_open)
    new = second.clauses.order_by("path").last()

    response = submit(weifang_open, new.pk)

    assert response.status_code == 201, response.json()
    assert Comment.objects.get().clause_id == new.pk


def test_an_unpublished_revision_s_clause_is_refused(weifang_open):
    second = weifang_second_draft(weifang_open, publish=False)
    assert Revision.objects.get(pk=second.pk).published_at is None

    response = submit(weifang_open, second.clauses.first().pk)

    assert response.status_code == 400
    assert "clause" in response.json()
    assert not Comment.objects.exists()
