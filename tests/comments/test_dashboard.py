"""The staff dashboard: each chart's numbers, scoped to what the user may see."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from consult.comments.dashboard import dashboard
from consult.comments.models import Comment
from consult.comments.services import comment_record_received, comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(weifang_open):
    """Comments over three days on 二(四)2 (市生态环境局) and 二(三)4 (市工信局)."""
    # Noon (Beijing) of the day after the opening: a few minutes later is still the same day.
    first_day = timezone.localdate(weifang_open.opens_at) + datetime.timedelta(days=1)
    start = timezone.make_aware(datetime.datetime.combine(first_day, datetime.time(12)))
    made = []
    for n, (label, day) in enumerate(
        [("二(四)2", 0), ("二(四)2", 0), ("二(三)4", 2), ("二(三)4", 2), ("二(三)4", 2)]
    ):
        with time_machine.travel(start + datetime.timedelta(days=day, minutes=n), tick=False):
            made.append(
                comment_submit(
                    consultation=weifang_open,
                    clause=weifang_open.clauses.get(label=label),
                    body=f"第{n}条：建议明确集聚区的评价指标。",
                    channel="web",
                    consent=True,
                    phone=f"1351234{n:04d}",
                ).comment
            )
    Comment.objects.filter(pk=made[0].pk).update(status="answered", decision="adopted", reply="好")
    return weifang_open, made


def member(username, department):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, Department.objects.get(name=department))
    return user


def bars(chart):
    return {bar.label: (bar.value, bar.extra) for bar in chart.bars}


def test_the_coordinator_sees_every_chart_with_its_numbers(spread):
    consultation, _made = spread
    data = dashboard(consultation, member("hyj", "市海渔局"))
    days, clauses, departments, decisions = data["charts"]
    assert data["totals"] == {"total": 5, "open": 4, "answered": 1}
    assert [bar.value for bar in days.bars] == [2, 0, 3]  # the quiet day in between is shown
    assert sorted(value for value, _extra in bars(clauses).values()) == [2, 3]
    assert bars(departments)["市工信局"] == (3, 0) and bars(departments)["市生态环境局"] == (1, 0)
    assert bars(decisions)["采纳"] == (1, 0)


def test_a_letter_counts_on_the_day_it_was_received_not_the_day_it_was_typed_in(spread):
    consultation, made = spread
    staff = member("hyj", "市海渔局")
    quiet_day = timezone.localdate(made[0].submitted_at) + datetime.timedelta(days=1)
    with time_machine.travel(made[-1].submitted_at + datetime.timedelta(minutes=1), tick=False):
        comment_record_received(
            consultation=consultation,
            clause=consultation.clauses.get(label="二(四)2"),
            body="来信：建议公开海洋生态修复项目的资金使用情况。",
            channel="letter",
            received_on=quiet_day,
            recorded_by=staff,
        )
    days = dashboard(consultation, staff)["charts"][0]
    assert [bar.value for bar in days.bars] == [2, 1, 3]


def test_a_department_sees_only_its_own(spread):
    consultation, _made = spread
    data = dashboard(consultation, member("sthj", "市生态环境局"))
    assert data["totals"]["total"] == 2
    assert list(bars(data["charts"][2])) == ["市生态环境局"]


def test_a_department_that_cooperates_sees_no_other_department_s_bar(spread):
    """Asked to cooperate on one of 市工信局's three, 市生态环境局 was shown 市工信局 with 1
    open comment: another department's figure, and a wrong one (found by a review)."""
    from consult.comments.workflow import CommentChange, comment_change_apply
    from consult.consultations.models import Department

    consultation, made = spread
    comment_change_apply(
        made[2],
        member("gxj", "市工信局"),
        CommentChange(route_to=Department.objects.get(name="市生态环境局"), route_reason="配合。"),
    )

    data = dashboard(consultation, member("sthj", "市生态环境局"))

    assert list(bars(data["charts"][2])) == ["市生态环境局"]
    # The bureau that issued the draft sees every department's, their true numbers.
    everyone = bars(dashboard(consultation, member("hyj", "市海渔局"))["charts"][2])
    assert everyone["市工信局"][0] == 3


def test_overdue_is_drawn_after_the_answer_deadline(spread):
    consultation, _made = spread
    with time_machine.travel(consultation.answer_deadline + datetime.timedelta(days=1)):
        data = dashboard(consultation, member("hyj", "市海渔局"))
    assert data["overdue"] is True
    assert bars(data["charts"][2])["市工信局"] == (3, 3)


def test_the_page_draws_svg_bars(client, spread):
    consultation, _made = spread
    client.force_login(member("hyj", "市海渔局"))
    page = client.get(f"/staff/consultations/{consultation.slug}/dashboard/").content.decode()
    widths = [
        float(w) for w in re.findall(r'class="bar" x="\d+" y="[\d.]+" width="([\d.]+)"', page)
    ]
    assert len(widths) >= 8 and max(widths) > 0
    client.logout()
    response = client.get(f"/staff/consultations/{consultation.slug}/dashboard/")
    assert response.status_code == 302  # to the login page


@pytest.fixture
def two_drafts(spread):
    """The five comments on the first draft, then two on the second draft's 二(四)1."""
    consultation, _made = spread
    first = consultation.current_revision
    second = weifang_second_draft(consultation)
    for n in range(2):
        comment_submit(
            consultation=consultation,
            clause=second.clauses.get(label="二(四)1"),
            body=f"对第二稿的第{n}条意见。",
            channel="web",
            consent=True,
            phone=f"1390000{n:04d}",
        )
    return consultation, first, second


def test_the_dashboard_counts_one_revision_s_comments_when_asked(two_drafts):
    consultation, first, second = two_drafts
    coordinator = member("hyj", "市海渔局")
    assert dashboard(consultation, coordinator)["totals"]["total"] == 7
    of_first = dashboard(consultation, coordinator, revision=first)
    of_second = dashboard(consultation, coordinator, revision=second)
    assert of_first["totals"] == {"total": 5, "open": 4, "answered": 1}
    assert of_second["totals"] == {"total": 2, "open": 2, "answered": 0}
    assert [bar.value for bar in of_second["charts"][1].bars] == [2]
    # Over every revision, each clause says which draft it is from.
    labels = list(bars(dashboard(consultation, coordinator)["charts"][1]))
    assert any(label.startswith("第2稿 二(四)1") for label in labels)
    assert any(label.startswith("第1稿 二(三)4") for label in labels)


def test_the_page_offers_each_revision_and_marks_the_chosen_one(client, two_drafts):
    consultation, _first, _second = two_drafts
    client.force_login(member("hyj", "市海渔局"))
    url = f"/staff/consultations/{consultation.slug}/dashboard/"
    page = client.get(url).content.decode()
    assert 'href="?" aria-current="page"' in page
    assert 'href="?revision=2"' in page and 'href="?revision=1"' in page
    assert "可见意见 7 条" in page

    page = client.get(url, {"revision": 2}).content.decode()
    assert 'href="?revision=2" aria-current="page"' in page
    assert "可见意见 2 条" in page
    assert f"consultation__id__exact={consultation.pk}&amp;revision=2" in page


def test_an_unknown_revision_is_not_found(client, two_drafts):
    consultation, _first, _second = two_drafts
    client.force_login(member("hyj", "市海渔局"))
    url = f"/staff/consultations/{consultation.slug}/dashboard/"
    assert client.get(url, {"revision": 9}).status_code == 404
    assert client.get(url, {"revision": "二"}).status_code == 404


def test_one_draft_offers_no_choice(client, spread):
    consultation, _made = spread
    client.force_login(member("hyj", "市海渔局"))
    page = client.get(f"/staff/consultations/{consultation.slug}/dashboard/").content.decode()
    assert "revision-choice" not in page
