"""Storing a comment: the tracking number, the routing and the comment period."""

import contextlib
import datetime
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from consult.comments.models import Comment, CommentRouting
from consult.comments.services import CommentPeriodClosed, comment_submit
from consult.comments.tallies import consultation_tallies
from consult.comments.tracking import ALPHABET, is_well_formed, normalise_tracking_number
from consult.consultations.models import ClauseResponsibility
from consult.notifications.models import Notification
from consult.testing.weifang import load_weifang
from tests.factories import (
    ClauseFactory,
    ConsultationFactory,
    DepartmentFactory,
    add_responsibility,
)

pytestmark = pytest.mark.django_db
LEAD = ClauseResponsibility.Role.LEAD
COOP = ClauseResponsibility.Role.COOPERATING


def submit(consultation, clause=None, **overrides):
    fields = {
        "body": "建议在集聚区评选中增加对中小企业的支持条款。",
        "channel": Comment.Channel.WEB,
        "consent": True,
    }
    fields.update(overrides)
    return comment_submit(consultation=consultation, clause=clause, **fields).comment


@pytest.fixture
def consultation():
    return ConsultationFactory()


def test_comment_on_a_clause_is_routed_to_its_lead_and_cooperating_departments(consultation):
    fgw, kjj = DepartmentFactory(name="市发改委"), DepartmentFactory(name="市科技局")
    clause = ClauseFactory(consultation=consultation)
    add_responsibility(clause, LEAD, fgw)
    add_responsibility(clause, COOP, kjj)
    add_responsibility(clause, COOP, "各县市区人民政府")

    comment = submit(consultation, clause)

    routes = list(comment.routes.values_list("department__name", "role", "is_owner"))
    assert routes == [("市发改委", "lead", True), ("市科技局", "cooperating", False)]


def test_comment_on_a_section_is_answered_by_the_issuer_its_items_leads_cooperate(
    consultation, settings
):
    section = ClauseFactory(consultation=consultation, number="(一)")
    item = ClauseFactory(consultation=consultation, parent=section)
    add_responsibility(item, LEAD, DepartmentFactory(name="市生态环境局"))

    comment = submit(consultation, section)
    assert list(comment.routes.values_list("department__name", "role", "is_owner")) == [
        ("市海渔局", "coordinator", True),
        ("市生态环境局", "cooperating", False),
    ]

    settings.ROUTING_HEADING_OWNER = "first_lead"
    comment = submit(consultation, section, body="另一条：建议公开评选流程和结果。")
    assert list(comment.routes.values_list("department__name", "role", "is_owner")) == [
        ("市生态环境局", "lead", True)
    ]


def test_comment_on_the_whole_draft_goes_to_the_issuer(consultation):
    comment = submit(consultation)
    route = comment.routes.get()
    assert (route.department, route.role, route.is_owner) == (
        consultation.issuer,
        "coordinator",
        True,
    )


def test_stored_comment_keeps_the_text_exactly(consultation):
    body = "第一行<script>alert(1)</script>\n第二行 😀 𠀀𪚥\n"
    assert Comment.objects.get(pk=submit(consultation, body=body).pk).body == body


def test_tracking_numbers_are_unique_well_formed_and_not_sequential(consultation):
    numbers = [
        submit(consultation, body=f"意见内容第{i}条，请予考虑。").tracking_number for i in range(20)
    ]
    assert len(set(numbers)) == 20
    assert all(is_well_formed(n) for n in numbers)
    assert not set("01OIL").intersection("".join(numbers))
    assert sorted(numbers) != numbers  # 1 in 20! by chance: not issued in sequence


def test_tracking_number_typed_with_spaces_and_lower_case_is_understood():
    number = ALPHABET[:10]
    assert normalise_tracking_number(f" {number[:4].lower()}-{number[4:]} ") == number


def test_a_tracking_number_and_proof_typed_full_width_find_the_comment(consultation):
    """A Chinese keyboard's full-width mode types "５６７８": the lookup said "未找到"."""
    from consult.comments.lookup import comment_lookup

    comment = submit(consultation, phone="13812345678", email="zhang@example.cn")
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in comment.tracking_number)
    spaced = f"{wide[:4]}\u3000{wide[4:]}"
    assert comment_lookup(spaced, "５６７８") == comment
    assert comment_lookup(comment.tracking_number, "ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ") == comment
    assert comment_lookup(wide, "５６７９") is None


def test_comment_after_close_is_refused_and_nothing_is_stored(consultation):
    after = consultation.closes_at.replace(microsecond=0) + datetime.timedelta(seconds=1)
    with pytest.raises(CommentPeriodClosed):
        submit(consultation, now=after)
    assert not Comment.objects.exists()


def test_comment_in_the_last_second_is_accepted(consultation):
    assert submit(consultation, now=consultation.closes_at).pk


def test_clause_of_another_consultation_is_refused(consultation):
    other = ClauseFactory()
    with pytest.raises(ValidationError) as error:
        submit(consultation, other)
    assert "clause" in error.value.message_dict
    assert not CommentRouting.objects.exists()


def test_comment_without_consent_is_refused(consultation):
    with pytest.raises(ValidationError) as error:
        submit(consultation, consent=False)
    assert "consent" in error.value.message_dict


def test_consent_time_and_hashed_ip_are_stored(consultation):
    comment = submit(consultation, ip="203.0.113.9")
    assert comment.consent_at == comment.submitted_at
    assert comment.ip_hash and "203.0.113.9" not in comment.ip_hash


def test_comments_recorded_without_routing_are_routed_in_bulk_once(db):
    from consult.comments.services import comments_route_unrouted
    from consult.notifications.models import Notification
    from tests.conftest import load_weifang

    consultation = load_weifang()
    item = consultation.clauses.get(label="二(一)1")
    letters = [
        Comment.objects.create(
            consultation=consultation,
            clause=item if n % 2 else None,
            body=f"来信意见第{n}封：建议明确集聚区评价指标。",
            channel=Comment.Channel.LETTER,
            consent=True,
            consent_at=timezone.now(),
            tracking_number=f"LTR{n:05d}X",
        )
        for n in range(6)
    ]
    assert comments_route_unrouted([c.pk for c in letters]) == 6
    assert comments_route_unrouted([c.pk for c in letters]) == 0  # already routed: nothing doubles
    on_item = [c for c in letters if c.clause_id]
    for comment in on_item:
        assert [r.department.name for r in comment.routes.order_by("position")][:2] == [
            "市发改委",
            "市科技局",
        ]
        assert Notification.objects.filter(comment=comment).count() == comment.routes.count()
    for comment in letters:
        if not comment.clause_id:
            assert [(r.department.name, r.role) for r in comment.routes.all()] == [
                ("市海渔局", "coordinator")
            ]


@pytest.mark.django_db(transaction=True)  # outside a transaction, as the API stores a comment
@pytest.mark.parametrize("in_a_transaction", [False, True])
def test_a_tracking_number_already_taken_is_drawn_again(in_a_transaction):
    consultation = load_weifang()
    clause = consultation.clauses.filter(responsibilities__isnull=False).first()

    def submit():
        return comment_submit(
            consultation=consultation,
            clause=clause,
            body="建议公开进展。",
            channel="api",
            consent=True,
            email="citizen@example.cn",
        ).comment

    taken = submit().tracking_number
    with (
        mock.patch(
            "consult.comments.services.new_tracking_number", side_effect=[taken, "ABCDEFGHJK"]
        ),
        transaction.atomic() if in_a_transaction else contextlib.nullcontext(),
    ):
        second = submit()
        # The caller's transaction is not spoilt by the first draw's failure.
        assert Comment.objects.count() == 2
    assert second.tracking_number == "ABCDEFGHJK"
    assert Comment.objects.get(tracking_number="ABCDEFGHJK").pk == second.pk
    assert (
        CommentRouting.objects.filter(comment=second).count()
        == len(CommentRouting.objects.filter(comment__tracking_number=taken))
        > 0
    )
    assert Notification.objects.filter(key=f"receipt:{second.pk}").exists()
    assert consultation_tallies(consultation.pk).by_clause[clause.pk] == 2
