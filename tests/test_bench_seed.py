"""The benchmarks' COPY seed (bench/admin_queue.py, also used by bench/pages.py) writes rows the
model reads: a column added to comments without a database default must be added to the seed,
or `make bench` fails at its first COPY (as it did once a comment gained its language)."""

import random

import pytest
from django.db import connection

from bench.admin_queue import seed
from consult.comments.directory import directory_of
from consult.comments.models import Comment, CommentRouting
from consult.consultations.models import Clause
from consult.testing.weifang import load_weifang

# VACUUM, which the seed ends with, cannot run inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def test_the_seed_stores_comments_and_routes_the_model_reads():
    if connection.vendor != "postgresql":
        pytest.skip("the seed writes with PostgreSQL's COPY")
    consultation = load_weifang()
    items = Clause.objects.filter(consultation=consultation, responsibilities__isnull=False)
    routes = directory_of(consultation).routes
    routes_by_clause = {clause.pk: routes[clause.pk] for clause in items.distinct()}

    seed(consultation, 0, 40, routes_by_clause, random.Random(5))

    comments = list(Comment.objects.filter(consultation=consultation))
    assert len(comments) == 40
    for comment in comments:
        expected = [route.department for route in routes_by_clause[comment.clause_id]]
        routed = CommentRouting.objects.filter(comment=comment).order_by("position")
        assert list(routed.values_list("department_id", flat=True)) == expected
        assert comment.language == "zh-hans"
