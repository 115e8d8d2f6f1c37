"""Passing a comment on (转办): the department that passes a comment it answers leaves it, and a
transfer asked for without a department is refused, not saved as if done."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError

from consult.comments.models import CommentEvent, CommentRouting
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from tests.comments.test_admin_queue import QUEUE, change_form_data, member, submit

pytestmark = pytest.mark.django_db

REASON = "意见涉及集聚区评价指标，属市发改委职责。"


def routes(comment):
    return dict(
        CommentRouting.objects.filter(comment=comment).values_list("department__name", "is_owner")
    )


def test_the_department_that_passes_a_comment_on_leaves_it(client, weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)  # 市生态环境局 alone
    sthj, fgw = member("sthj", "市生态环境局"), member("fgw", "市发改委")

    comment_change_apply(
        comment,
        sthj,
        CommentChange(
            route_to=Department.objects.get(name="市发改委"), make_owner=True, route_reason=REASON
        ),
    )

    assert routes(comment) == {"市发改委": True}
    # Not in its to-do, nor anywhere in its queue: no longer routed to it.
    client.force_login(sthj)
    assert comment.tracking_number not in client.get(QUEUE).content.decode()
    assert comment.tracking_number not in client.get(QUEUE, {"scope": "all"}).content.decode()
    # The new owner answers without waiting for an opinion from it.
    comment_change_apply(
        comment,
        fgw,
        CommentChange(status="answered", decision="explained", reply="评价指标将另行制定。"),
    )
    comment.refresh_from_db()
    assert comment.status == "answered"
    routed = comment.events.get(kind=CommentEvent.Kind.ROUTED)
    assert (routed.actor, routed.department.name, routed.text) == (sthj, "市发改委", REASON)


def test_a_coordinator_moving_the_answer_keeps_the_previous_owner_cooperating(weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)

    comment_change_apply(
        comment,
        member("hyj", "市海渔局"),  # issued the notice
        CommentChange(
            route_to=Department.objects.get(name="市发改委"), make_owner=True, route_reason=REASON
        ),
    )

    assert routes(comment) == {"市生态环境局": False, "市发改委": True}


def test_the_department_that_passed_it_on_lands_on_the_queue_told_who_answers(client, weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)
    client.force_login(member("sthj", "市生态环境局"))
    data = change_form_data(
        client,
        comment,
        route_to=Department.objects.get(name="市发改委").pk,
        make_owner="on",
        route_reason=REASON,
        _continue="1",
    )

    response = client.post(f"{QUEUE}{comment.pk}/change/", data, follow=True)

    assert response.redirect_chain == [(QUEUE, 302)]
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [
        f"意见 {comment.tracking_number} 已转由市发改委负责答复，您的单位不再办理这条意见。"
    ]


def test_a_transfer_without_a_department_is_refused(client, weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)
    client.force_login(member("sthj", "市生态环境局"))
    data = change_form_data(client, comment, make_owner="on", route_reason=REASON)

    response = client.post(f"{QUEUE}{comment.pk}/change/", data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["route_to"] == ["请选择要转办或增加的单位。"]
    assert form["route_reason"].value() == REASON  # kept to save again
    assert routes(comment) == {"市生态环境局": True}
    assert not comment.events.exists()


def test_a_reason_for_routing_without_a_department_is_refused(weifang_open):
    comment = submit(weifang_open, "二(四)2", 1)

    with pytest.raises(ValidationError) as refused:
        comment_change_apply(
            comment, member("sthj", "市生态环境局"), CommentChange(route_reason=REASON)
        )

    assert refused.value.message_dict == {"route_to": ["请选择要转办或增加的单位。"]}
