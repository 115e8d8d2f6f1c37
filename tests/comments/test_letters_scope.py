"""Letters are recorded only where the member of staff has standing: the issuing bureau's
consultations and those naming their department in a clause."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from consult.comments.models import Comment
from consult.comments.services import comment_record_received
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.notifications.models import Notification

pytestmark = pytest.mark.django_db

ADD = "/admin/comments/comment/add/"


def staff(username, department):
    user = User.objects.create_user(username, password="pw")
    staff_join(user, department)
    return user


def letter(consultation):
    return {
        "consultation": consultation.pk,
        "clause": consultation.clauses.get(label="二(四)2").pk,
        "channel": "letter",
        "received_on": timezone.localdate(),
        "body": "来信建议：海洋生态修复项目应当听取沿海村民的意见，并公开招标结果。",
        "submitter_kind": "individual",
        "email": "someone@example.cn",
    }


def test_a_department_with_no_clause_cannot_record_a_letter_there(client, weifang_open):
    outsider = staff("sjj", Department.objects.create(name="市审计局"))
    client.force_login(outsider)
    response = client.post(ADD, letter(weifang_open))
    assert response.status_code == 200
    assert "consultation" in response.context["adminform"].form.errors
    with pytest.raises(ValidationError):
        comment_record_received(
            consultation=weifang_open,
            clause=None,
            body="来信建议：海洋生态修复项目应当听取沿海村民的意见。",
            channel="letter",
            received_on=timezone.localdate(),
            recorded_by=outsider,
        )
    assert not Comment.objects.exists()


def test_the_issuer_and_a_responsible_department_can(client, weifang_open):
    for username, name in [("hyj", "市海渔局"), ("sthj", "市生态环境局")]:
        client.force_login(staff(username, Department.objects.get(name=name)))
        response = client.post(ADD, letter(weifang_open))
        assert response.status_code == 302, username
    assert Comment.objects.count() == 2


def test_a_letter_page_posted_twice_stores_the_letter_once(client, weifang_open):
    """A double click on 保存 stored the letter twice: two tracking numbers, routed and mailed
    twice, counted twice in the adoption report."""
    client.force_login(staff("hyj", Department.objects.get(name="市海渔局")))
    page = client.get(ADD)
    data = {**letter(weifang_open), "page_key": page.context["adminform"].form["page_key"].value()}

    first, second = client.post(ADD, data), client.post(ADD, data)

    (comment,) = Comment.objects.all()
    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    assert Notification.objects.filter(kind="comment_routed", comment=comment).count() == 1


def test_identical_letters_typed_on_pages_of_their_own_are_each_stored(client, weifang_open):
    """A campaign's letters say the same; typed one after another, each is a comment."""
    client.force_login(staff("hyj", Department.objects.get(name="市海渔局")))
    for _n in range(2):
        page = client.get(ADD)
        key = page.context["adminform"].form["page_key"].value()
        assert client.post(ADD, {**letter(weifang_open), "page_key": key}).status_code == 302
    assert Comment.objects.count() == 2
