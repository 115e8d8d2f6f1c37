"""A letter typed in, or a comment, often ends with its writer's name, telephone and address.
Wherever the contact fields are masked (a department that only cooperates on the comment, an
export without personal data), the text is masked too; the answering department reads it whole."""

import csv
import io

import pytest
from django.core import mail

from consult.comments.services import comment_submit
from consult.consultations.directory import directory_changed
from consult.consultations.models import Department
from tests.support.people import member

pytestmark = pytest.mark.django_db

QUEUE = "/admin/comments/comment/"
SIGNED = "建议明确集聚区评价指标。我是渔民王五，电话13812340007，邮箱wangwu@example.cn，欢迎联系。"
PERSONAL = ("13812340007", "wangwu@example.cn", "王五")


def signed_submit(consultation):
    # 二(一)1: 市发改委 answers, 市科技局 cooperates.
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(一)1"),
        body=SIGNED,
        channel="web",
        consent=True,
        phone="13812340007",
        email="wangwu@example.cn",
        submitter_name="王五",
    ).comment


@pytest.fixture
def signed(weifang_open):
    return signed_submit(weifang_open)


def shows_personal_data(text: str) -> list[str]:
    return [value for value in PERSONAL if value in text]


def test_a_cooperating_department_reads_the_text_masked_on_the_page_and_in_the_queue(
    client, signed
):
    client.force_login(member("kjj", "市科技局"))
    page = client.get(f"{QUEUE}{signed.pk}/change/").content.decode()
    assert "138****0007" in page and "建议明确集聚区评价指标。" in page
    assert shows_personal_data(page) == []
    queue = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert signed.tracking_number in queue and shows_personal_data(queue) == []


def test_the_answering_department_reads_it_whole(client, signed):
    client.force_login(member("fgw", "市发改委"))
    page = client.get(f"{QUEUE}{signed.pk}/change/").content.decode()
    assert SIGNED in page
    queue = client.get(QUEUE, {"scope": "all"}).content.decode()
    assert SIGNED[:40] in queue


def exported(client, user, signed) -> str:
    client.force_login(user)
    response = client.post(
        f"{QUEUE}?scope=all",
        {"action": "export_csv", "_selected_action": [signed.pk], "index": 0},
    )
    assert response.status_code == 200
    return response.content.decode("utf-8-sig")


def test_an_export_masks_the_text_where_it_masks_the_columns(client, signed):
    cooperating = exported(client, member("kjj", "市科技局"), signed)
    assert "建议明确集聚区评价指标。" in cooperating and shows_personal_data(cooperating) == []
    # The answering department without the personal-data permission: no personal columns,
    # and no personal data in the text either.
    answering = exported(client, member("fgw", "市发改委"), signed)
    [_header, row] = list(csv.reader(io.StringIO(answering)))
    assert shows_personal_data(answering) == [] and "建议明确集聚区评价指标。" in row[3]


def test_the_cooperating_department_s_email_masks_it_and_the_owner_s_does_not(
    weifang_open, django_capture_on_commit_callbacks
):
    Department.objects.update(digest_mode=Department.DigestMode.IMMEDIATE)
    directory_changed()
    with django_capture_on_commit_callbacks(execute=True):
        signed_submit(weifang_open)

    def to(name):
        addresses = set(Department.objects.get(name=name).mailboxes.values_list("email", flat=True))
        [message] = [m for m in mail.outbox if set(m.to) & addresses]
        return message.body + "".join(content for content, _type in message.alternatives)

    cooperating = to("市科技局")
    assert "建议明确集聚区评价指标。" in cooperating and shows_personal_data(cooperating) == []
    assert "13812340007" in to("市发改委")


def test_a_cooperating_department_cannot_learn_a_masked_number_by_searching(client, signed):
    """The search read the text as stored: "1381", "13812", … gave the number digit by digit
    (and an address or the name whole) by which comments came back."""
    client.force_login(member("kjj", "市科技局"))

    def found(term):
        page = client.get(QUEUE, {"scope": "all", "q": term}).content.decode()
        return signed.tracking_number in page

    assert found("集聚区评价指标")  # the text is still searched
    for term in ("13812340007", "1381", "１３８", "wangwu@", "王五", "渔民王五", "王五，电话"):
        assert not found(term), term
    # An address's local part, letter by letter (found by a review): "w***@example.cn" shows
    # only its first letter.
    for term in ("wangwu", "angwu", "wangwu example"):
        assert not found(term), term
    assert found("example.cn")  # what the masked text shows is found
    # The answering department searches it all.
    client.force_login(member("fgw", "市发改委"))
    assert found("13812340007") and found("渔民王五")


def test_the_history_masks_what_staff_wrote_about_the_submitter(client, signed):
    from consult.comments.workflow import CommentChange, comment_change_apply

    lead = member("fgw", "市发改委")
    comment_change_apply(
        signed, lead, CommentChange(status="in_progress", note="已电话联系王五13812340007。")
    )
    client.force_login(member("kjj", "市科技局"))
    page = client.get(f"{QUEUE}{signed.pk}/change/").content.decode()
    assert "已电话联系＊＊138****0007。" in page and shows_personal_data(page) == []
    client.force_login(lead)
    assert (
        "已电话联系王五13812340007。" in client.get(f"{QUEUE}{signed.pk}/change/").content.decode()
    )


def test_a_history_entry_has_no_page_of_its_own_that_shows_its_text_whole(client, signed):
    """Django's read-only page of an entry showed a cooperating department the note (and the
    reply) unmasked, an entry id after another; the list links to the comment's page."""
    from consult.comments.models import CommentEvent
    from consult.comments.workflow import CommentChange, comment_change_apply

    comment_change_apply(
        signed,
        member("fgw", "市发改委"),
        CommentChange(status="in_progress", note="已电话联系王五13812340007。"),
    )
    note = CommentEvent.objects.get(comment=signed, kind="note")
    client.force_login(member("kjj", "市科技局"))
    entries = "/admin/comments/commentevent/"
    assert client.get(f"{entries}{note.pk}/change/").status_code == 403
    listed = client.get(entries).content.decode()
    assert f'href="{QUEUE}{signed.pk}/change/"' in listed and f"{entries}{note.pk}/" not in listed
    assert shows_personal_data(listed) == []


def test_an_export_masks_the_reply_and_its_reason_where_it_masks_the_columns(client, signed):
    from consult.comments.workflow import CommentChange, comment_change_apply

    comment_change_apply(
        signed,
        member("fgw", "市发改委"),
        CommentChange(
            status="answered",
            decision="not_adopted",
            decision_reason="王五的建议与上位法不符。",
            reply="王五同志：您好，已按13812340007与您电话沟通。",
            waive_reason="时间紧。",
        ),
    )
    cooperating = exported(client, member("kjj", "市科技局"), signed)
    assert "已按138****0007与您电话沟通" in cooperating
    assert shows_personal_data(cooperating) == []


def test_the_search_still_finds_what_a_cooperating_department_may_read(
    client, signed, weifang_open
):
    """Terms with digits read the masked text, not nothing: a quoted phrase, a tracking number
    beside a word, a number that is not personal data."""
    other = comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="请参照第1381号文件，明确集聚区评价指标。",
        channel="web",
        consent=True,
        phone="13812340009",
    ).comment
    client.force_login(member("kjj", "市科技局"))

    def found(term):
        page = client.get(QUEUE, {"scope": "all", "q": term}).content.decode()
        return {c.tracking_number for c in (signed, other) if c.tracking_number in page}

    assert found("1381") == {other.tracking_number}  # in its text; the other's is a phone
    assert found('"第1381号 文件"') == set() and found('"第1381号文件"') == {other.tracking_number}
    assert found(f"{signed.tracking_number} 评价指标") == {signed.tracking_number}
    assert found("0007") == {signed.tracking_number}  # shown: 138****0007


def test_a_name_spelt_with_a_variation_selector_is_masked():
    from consult.comments.privacy import personal_data_masked

    for name in ("葛\U000e0100优", "葛\ufe00优", "王\u200b五"):
        plain = name.replace("\U000e0100", "").replace("\ufe00", "").replace("\u200b", "")
        assert personal_data_masked(f"我是{name}，谢谢", names=[name]) == "我是＊＊，谢谢"
        assert personal_data_masked(f"我是{plain}，谢谢", names=[name]) == "我是＊＊，谢谢"


def test_a_latin_term_reads_masked_only_the_texts_with_an_address(rf, signed, monkeypatch):
    """Reading a text masked costs a millisecond or so; "GDP" or "APP" sent every comment a
    cooperating department found through it, though only a text with an @ can hide an
    address's letters."""
    from django.contrib import admin

    from consult.comments.admin import queue
    from consult.comments.models import Comment

    plain = signed_submit(signed.consultation)
    Comment.objects.filter(pk=plain.pk).update(body="建议提高海洋经济GDP占比，王五也这样认为。")
    read, masked = [], queue.body_as_seen
    monkeypatch.setattr(
        queue, "body_as_seen", lambda comment: read.append(comment.pk) or masked(comment)
    )
    request = rf.get(QUEUE)
    request.user = member("kjj", "市科技局")
    comments = admin.site._registry[Comment]

    def found(term):
        # What Django's own search found, before the masked text is asked.
        by_django = Comment.objects.filter(body__icontains=term)
        return set(comments._text_found_only_where_shown(request, by_django, term))

    assert found("GDP") == {plain} and read == [], "no text holding the term has an address"
    assert found("wangwu") == set() and read == [signed.pk]
