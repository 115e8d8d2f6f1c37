"""What the receipt tells a citizen holds: a status link past its year says it expired and how
to look the comment up instead; a comment left without phone or email is not sent to a lookup
that cannot find it; times say they are Beijing time; the English receipt's sentences are
apart."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from consult.comments.services import comment_submit
from consult.comments.status_links import MAX_AGE, status_token

pytestmark = pytest.mark.django_db

LOOKUP_BY_NUMBER = "凭回执编号和手机号后四位（或电子邮箱）可以随时查询"


def submit(consultation, **contact):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label="二(一)1"),
        body="建议公开集聚区评选的标准和结果。",
        channel="web",
        consent=True,
        **contact,
    ).comment


def token_made(comment, *, seconds_ago: int) -> str:
    with time_machine.travel(timezone.now() - datetime.timedelta(seconds=seconds_ago), tick=False):
        return status_token(comment)


@pytest.mark.parametrize("page", ["intake:comment_status_signed", "intake:comment_receipt"])
def test_a_link_past_its_year_says_so_and_offers_the_lookup(client, weifang_open, page):
    comment = submit(weifang_open, phone="13812345678")
    token = token_made(comment, seconds_ago=MAX_AGE + 60)

    response = client.get(reverse(page, args=[token]))

    assert response.status_code == 410
    text = response.content.decode()
    assert "链接已过期" in text and "已超过一年有效期" in text
    assert f"/comments/status/?number={comment.tracking_number}" in text
    assert "建议公开集聚区评选" not in text  # nothing of the comment itself


def test_a_link_within_its_year_still_opens(client, weifang_open):
    comment = submit(weifang_open, phone="13812345678")
    token = token_made(comment, seconds_ago=MAX_AGE - 60)

    response = client.get(reverse("intake:comment_status_signed", args=[token]))

    assert response.status_code == 200


def test_a_forged_link_is_still_not_found(client, weifang_open):
    comment = submit(weifang_open, phone="13812345678")
    token = status_token(comment)

    response = client.get(reverse("intake:comment_status_signed", args=[token[:-2] + "xx"]))

    assert response.status_code == 404


def test_a_receipt_without_contact_details_does_not_send_the_citizen_to_the_lookup(
    client, weifang_open
):
    comment = submit(weifang_open)

    page = client.get(reverse("intake:comment_receipt", args=[status_token(comment)]))

    text = page.content.decode()
    assert LOOKUP_BY_NUMBER not in text
    assert "您没有留下电话或电子邮箱，不能凭回执编号查询" in text
    assert "收藏此链接，一年内可以随时查看办理情况" in text


def test_a_receipt_with_a_phone_offers_both(client, weifang_open):
    comment = submit(weifang_open, phone="13812345678")

    text = client.get(reverse("intake:comment_receipt", args=[status_token(comment)])).content
    text = text.decode()

    assert LOOKUP_BY_NUMBER in text and "一年内无需再次验证" in text


def test_the_english_receipt_keeps_its_sentences_apart(client, weifang_open):
    comment = submit(weifang_open, phone="13812345678")

    page = client.get(
        reverse("intake:comment_receipt", args=[status_token(comment)]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()

    assert 'id="who-answers"' in page and 'id="who-cooperates"' in page
    assert "comment.Cooperating" not in page


def test_the_status_page_s_times_say_beijing_time(client, weifang_open):
    comment = submit(weifang_open, phone="13812345678")

    page = client.get(reverse("intake:comment_status_signed", args=[status_token(comment)]))

    timeline = page.content.decode().split("</time>", 1)[1][:40]
    assert timeline.startswith("（北京时间）")
