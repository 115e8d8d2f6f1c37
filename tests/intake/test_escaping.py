"""Markup in any text field is stored exactly as typed and shown escaped wherever it appears."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail

from consult.comments.models import Comment
from consult.comments.status_links import status_token

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def comment(client, weifang_open, django_capture_on_commit_callbacks):
    item = weifang_open.clauses.get(label="二(一)1")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/consultations/{weifang_open.slug}/clauses/{item.pk}/comment/",
            {
                "body": f"意见正文{HOSTILE}请采纳",
                "name": f"张{HOSTILE}",
                "kind": "company",
                "organisation": f"公司{HOSTILE}",
                "phone": "13812345678",
                "email": "zhang@example.cn",
                "consent": "on",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    return Comment.objects.get()


def assert_escaped(html: str):
    assert HOSTILE not in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_stored_verbatim(comment):
    assert comment.body == f"意见正文{HOSTILE}请采纳"
    assert comment.submitter_name == f"张{HOSTILE}"
    assert comment.organisation == f"公司{HOSTILE}"


def test_public_pages_escape_it(client, comment):
    token = status_token(comment)
    pages = [
        client.get(f"/comments/{token}/receipt/"),
        client.get(f"/comments/{token}/"),
        client.post(
            "/comments/status/", {"tracking_number": comment.tracking_number, "proof": "5678"}
        ),
    ]
    for response in pages:
        assert response.status_code == 200
        html = response.content.decode()
        assert ESCAPED in html
        assert_escaped(html)


def test_the_reply_is_escaped_too(client, comment):
    comment.reply = f"答复{HOSTILE}"
    comment.status = "answered"
    comment.save()
    html = client.get(f"/comments/{status_token(comment)}/").content.decode()
    assert f"答复{ESCAPED}" in html
    assert_escaped(html)


def test_staff_pages_escape_it(client, comment):
    client.force_login(User.objects.create_superuser("root", password="pw"))
    for url in ("/admin/comments/comment/", f"/admin/comments/comment/{comment.pk}/change/"):
        html = client.get(url).content.decode()
        assert_escaped(html)
    assert ESCAPED in client.get(f"/admin/comments/comment/{comment.pk}/change/").content.decode()


def test_emails_escape_it_in_html_and_keep_it_in_text(comment):
    from consult.notifications.delivery import deliver
    from consult.notifications.models import Notification

    mail.outbox.clear()
    # A day later every digest window has closed: the departments' mail goes out too.
    with time_machine.travel(comment.submitted_at + datetime.timedelta(days=1)):
        deliver(list(Notification.objects.values_list("pk", flat=True)))
    assert len(mail.outbox) == comment.routes.count()
    for message in mail.outbox:
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html"
        assert_escaped(html)
        assert "alert" in message.body  # the plain text part carries the text as typed
