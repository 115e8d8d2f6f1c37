"""Masked contact details stay masked: no query string, search or download recovers them.

A cooperating department sees 139****0001. Before this was fixed it could still learn the
number digit by digit (`?phone__startswith=1390…`: listed or not), find the comment by the
full number in the search box, and download the citizen's letter.
"""

import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.notifying import queue_url
from consult.comments.services import comment_submit
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Department
from consult.consultations.services import staff_join

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"
EVENTS = "/admin/comments/commentevent/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CLAUSE = "二(一)1"  # 市发改委 answers (the owner), 市科技局 cooperates; 市海渔局 issued it.


def member(username, department_name):
    user = User.objects.create_user(username, password="pw", email=f"{username}@gov.example")
    staff_join(user, Department.objects.get(name=department_name))
    return user


@pytest.fixture
def comments(weifang_open):
    """Two comments on the same clause, told apart only by their submitters' details."""

    def submit(n, phone, email, name):
        return comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=CLAUSE),
            body=f"第{n}条：建议明确集聚区的评价指标并公开评选结果。",
            channel="web",
            consent=True,
            phone=phone,
            email=email,
            submitter_name=name,
            attachment=SimpleUploadedFile(f"{name}的来信.pdf", PDF, content_type="application/pdf"),
            attachment_type="pdf",
        ).comment

    target = submit(1, "13900000001", "zhangsan@example.cn", "张三丰")
    other = submit(2, "13812345678", "lisi@example.cn", "李四")
    return target, other


@pytest.fixture
def users(comments):
    target, _other = comments
    routes = {(r.department.name, r.is_owner) for r in target.routes.select_related("department")}
    assert ("市发改委", True) in routes and ("市科技局", False) in routes
    return {
        "owner": member("fgw", "市发改委"),
        "cooperating": member("kjj", "市科技局"),
        "coordinator": member("hyj", "市海渔局"),
        "root": User.objects.create_superuser("root", password="pw"),
    }


def listed(client, url, params, comments):
    """The status, and which of the comments the answer names."""
    response = client.get(url, params)
    page = response.content.decode()
    return response.status_code, {c.tracking_number for c in comments if c.tracking_number in page}


# Lookups on the comment's own fields: (parameter, a value the target matches, one it doesn't).
PROBES = [
    ("phone__startswith", "1390000", "1381111"),
    ("phone__regex", "^139", "^137"),
    ("phone__contains", "0000000", "7777777"),
    ("email__startswith", "zhang", "wang"),
    ("email__icontains", "zhangsan@", "wangwu@"),
    ("submitter_name__contains", "张", "王"),
    ("submitter_name__icontains", "三丰", "五"),
    ("phone", "13900000001", "13700000000"),
]


@pytest.mark.parametrize("who", ["cooperating", "owner"])
@pytest.mark.parametrize(("lookup", "hit", "miss"), PROBES, ids=[p[0] for p in PROBES])
def test_lookups_on_contact_fields_cannot_tell_comments_apart(
    client, comments, users, who, lookup, hit, miss
):
    client.force_login(users[who])
    assert listed(client, QUEUE, {"scope": "all"}, comments) == (
        200,
        {c.tracking_number for c in comments},
    )
    matching = listed(client, QUEUE, {"scope": "all", lookup: hit}, comments)
    not_matching = listed(client, QUEUE, {"scope": "all", lookup: miss}, comments)
    # Indistinguishable, and refused the way Django refuses a lookup it does not allow.
    assert matching == not_matching == (400, set())


def test_lookups_through_relations_and_other_comment_admins_are_refused(client, comments, users):
    client.force_login(users["cooperating"])
    for params in (
        {"routes__department__name": "市发改委"},
        {"attachments__original_name__contains": "张"},
        {"body_digest__startswith": "a"},
        {"ip_hash__startswith": "a"},
    ):
        assert client.get(QUEUE, {"scope": "all", **params}).status_code == 400, params
    assert client.get(EVENTS, {"text__contains": "张"}).status_code == 400
    assert client.get(EVENTS, {"comment__phone__startswith": "139"}).status_code == 400
    assert client.get(EVENTS, {"kind__exact": "submitted"}).status_code == 200


def test_every_link_the_queue_offers_is_accepted(client, weifang_open, comments, users):
    """Filters, date drill-down and the links in emails, the dashboard and campaigns."""
    client.force_login(users["root"])
    start = {"scope": "all", "consultation__id__exact": weifang_open.pk}
    page = client.get(QUEUE, start).content.decode()
    offered = {unescape(href) for href in re.findall(r'href="(\?[^"]*)"', page)}
    names = {name for href in offered for name, _value in parse_qsl(href[1:])}
    # The page offers every filter: the clause, department, role, contact, campaign, date ...
    assert {"clause", "department", "role", "contact", "status__exact", "decision__exact"} <= names
    assert {"campaign__isempty", "channel__exact", "submitted_at__gte"} <= names
    assert any(name.startswith("submitted_at__year") for name in names)
    for href in offered:
        assert client.get(QUEUE + href).status_code == 200, href

    links = [
        *(queue_url(weifang_open, pending=pending) for pending in (True, False)),
        f"{QUEUE}?scope=all&campaign__id__exact=1",
        f"{QUEUE}?scope=all&consultation__id__exact={weifang_open.pk}",
    ]
    for link in links:
        parts = urlsplit(link)
        assert client.get(parts.path, dict(parse_qsl(parts.query))).status_code == 200, link


def search(client, term, comments):
    return listed(client, QUEUE, {"scope": "all", "q": term}, comments)[1]


def test_search_matches_contact_details_only_where_they_are_shown(client, comments, users):
    target, other = comments
    for term in ("13900000001", "zhangsan@example.cn", "张三丰"):
        client.force_login(users["cooperating"])
        assert search(client, term, comments) == set(), term
        for who in ("owner", "coordinator", "root"):
            client.force_login(users[who])
            assert search(client, term, comments) == {target.tracking_number}, (who, term)

    # What a cooperating department does see stays searchable.
    client.force_login(users["cooperating"])
    assert search(client, other.tracking_number, comments) == {other.tracking_number}
    assert search(client, "第1条", comments) == {target.tracking_number}


def download(client, comment):
    return client.get(reverse("comments:attachment_download", args=[comment.attachments.get().pk]))


def test_a_cooperating_department_cannot_download_the_letter(client, comments, users):
    target, _other = comments
    client.force_login(users["cooperating"])
    assert download(client, target).status_code == 404  # as for another department's comment
    # Nor does the change page name the file or link to it.
    page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
    assert "张三丰的来信" not in page
    assert reverse("comments:attachment_download", args=[target.attachments.get().pk]) not in page

    for who in ("owner", "coordinator", "root"):
        client.force_login(users[who])
        response = download(client, target)
        assert response.status_code == 200, who
        assert response["Content-Disposition"].startswith("attachment;")
        assert b"".join(response.streaming_content) == PDF
        page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
        assert "张三丰的来信" in page


def test_the_change_page_still_masks_by_the_same_rule(client, comments, users):
    target, _other = comments
    client.force_login(users["cooperating"])
    page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
    assert "139****0001" in page and "13900000001" not in page and "张*丰" in page
    for who in ("owner", "coordinator", "root"):
        client.force_login(users[who])
        page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
        assert "13900000001" in page and "zhangsan@example.cn" in page, who
    assert Comment.objects.count() == 2


def test_the_change_page_masks_the_submitters_organisation_with_the_name(client, comments, users):
    """The routed email and the export leave a cooperating department without the
    organisation; the change page used to print it beside the masked name."""
    target, _other = comments
    Comment.objects.filter(pk=target.pk).update(organisation="潍坊蓝海渔业合作社")
    client.force_login(users["cooperating"])
    page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
    assert "张*丰" in page and "潍坊蓝海渔业合作社" not in page
    client.force_login(users["owner"])
    page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
    assert "张三丰（潍坊蓝海渔业合作社）" in page


def test_a_cooperating_opinion_is_masked_where_the_submitter_is(client, comments, users):
    """市海渔局 issued the draft (it sees the submitter whole) and cooperates on the clause; its
    opinion names the submitter. 市科技局, which sees the submitter masked, read the opinion in
    full in the opinions table while the history beside it masked the same text."""
    target, _other = comments
    opinion = "已电话联系张三丰（13900000001，zhangsan@example.cn），其同意补充材料。"
    comment_change_apply(target, users["coordinator"], CommentChange(opinion=opinion))
    client.force_login(users["cooperating"])
    page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
    assert "其同意补充材料" in page
    for detail in ("13900000001", "zhangsan@example.cn", "张三丰"):
        assert detail not in page
    client.force_login(users["owner"])
    page = client.get(f"{QUEUE}{target.pk}/change/").content.decode()
    opinions = page[page.index('id="opinions-group"') :]
    assert "已电话联系张三丰（13900000001，zhangsan@example.cn）" in opinions


@pytest.mark.parametrize("who", ["owner", "coordinator"])
def test_a_change_page_shown_again_lists_the_rows_as_they_are_now(client, comments, users, who):
    """The page posted back without its inline rows' ids (an opinion added since it was
    opened has none; a hand-made post none at all): shown again with a form error, it listed
    the new opinion as a blank row, and the letter's row raised NoReverseMatch (a 500)."""
    from tests.comments.test_admin_queue import change_form_data

    target, _other = comments
    client.force_login(users[who])
    data = change_form_data(client, target, status="answered", decision="adopted", reply="")
    comment_change_apply(target, users["cooperating"], CommentChange(opinion="建议增加评价指标。"))
    response = client.post(f"{QUEUE}{target.pk}/change/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "建议增加评价指标" in page[page.index('id="opinions-group"') :]
    assert "张三丰的来信" in page[page.index('id="attachments-group"') :]
