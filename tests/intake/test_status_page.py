"""Looking a comment up on the web: tracking number plus a proof, no enumeration."""

import datetime
import re

import pytest
import time_machine
from rest_framework.test import APIClient

from consult.comments.services import comment_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def comment(weifang_open):
    return comment_submit(
        consultation=weifang_open,
        clause=weifang_open.clauses.get(label="二(一)1"),
        body="建议公开集聚区评选的标准和结果。",
        channel="web",
        consent=True,
        phone="13812345678",
        email="li@example.cn",
    ).comment


def look_up(client, number, proof, **extra):
    return client.post("/comments/status/", {"tracking_number": number, "proof": proof}, **extra)


def test_the_form_is_offered(client, db):
    page = client.get("/comments/status/?number=ABCD2345").content.decode()
    assert 'value="ABCD2345"' in page
    assert '<label for="id_proof">' in page


@pytest.mark.parametrize("proof", ["5678", "LI@example.cn", " 5678 "])
def test_a_right_pair_shows_the_status(client, comment, proof):
    response = look_up(client, comment.tracking_number.lower(), proof)
    assert response.status_code == 200
    page = response.content.decode()
    assert comment.tracking_number in page
    assert "待处理" in page
    assert "13812345678" not in page


def test_the_reply_and_decision_appear_once_given(client, comment):
    comment.status = "answered"
    comment.decision = "partly_adopted"
    comment.reply = "已部分采纳：评选结果将在市政府网站公开。"
    comment.save()
    page = look_up(client, comment.tracking_number, "5678").content.decode()
    assert comment.reply in page
    assert comment.get_decision_display() in page


def test_a_wrong_pair_reads_exactly_like_an_unknown_number(client, comment):
    wrong = look_up(client, comment.tracking_number, "0000")
    unknown = look_up(client, "ABCDEFGH", "0000")
    assert wrong.status_code == unknown.status_code == 400

    def without_token(response):
        # The pages differ only in the CSRF token and the number typed in.
        page = response.content.decode()
        page = page.replace(comment.tracking_number, "N").replace("ABCDEFGH", "N")
        return [line for line in page.splitlines() if "csrfmiddlewaretoken" not in line]

    assert without_token(wrong) == without_token(unknown)
    assert "未找到与此回执编号和联系方式相符的意见" in wrong.content.decode()


def test_lookups_are_rate_limited(client, comment, settings, one_window):
    settings.STATUS_LOOKUP_RATE_LIMITS = ["2/m"]
    assert look_up(client, comment.tracking_number, "0000").status_code == 400
    assert look_up(client, comment.tracking_number, "1111").status_code == 400
    response = look_up(client, comment.tracking_number, "5678")
    assert response.status_code == 429
    assert "过于频繁" in response.content.decode()


def test_a_numbers_proof_cannot_be_guessed_from_many_addresses(
    client, weifang_open, comment, one_window
):
    """The limit counted per address alone: the last four digits of the phone are 10,000
    guesses, and a guesser with many addresses (one IPv6 /64 is a host's own) had a fresh
    budget for each. The production limits, as settings.py has them."""
    guessed = comment  # its phone ends 5678
    other = comment_submit(
        consultation=weifang_open,
        clause=None,
        body="建议延长征求意见期。",
        channel="web",
        consent=True,
        phone="13900001111",
    ).comment
    number = guessed.tracking_number
    spellings = [number, number.lower(), f"{number[:4]}-{number[4:]}"]
    answers = [
        look_up(client, spellings[n % 3], f"{5600 + n}", REMOTE_ADDR=f"2001:db8:{n}::1").status_code
        for n in range(10)
    ]
    assert answers == [400] * 10  # each a wrong proof, from a network of its own
    locked = look_up(client, number, "5678", REMOTE_ADDR="198.51.100.1")
    assert locked.status_code == 429
    # The citizen is told it is the number's lookups, and that the receipt's link still works.
    page = locked.content.decode()
    assert "此回执编号或您所在网络的查询次数过多" in page and "查询链接不受此限制" in page
    by_api = APIClient().post(
        "/api/comments/status/",
        {"tracking_number": number, "proof": "5678"},
        format="json",
        REMOTE_ADDR="198.51.100.2",
    )
    assert by_api.status_code == 429 and by_api["Retry-After"]
    # The owner of another number, from one of those addresses, is not held back.
    assert (
        look_up(client, other.tracking_number, "1111", REMOTE_ADDR="2001:db8:1::1").status_code
        == 200
    )


def test_one_ipv6_network_shares_the_address_limit(client, comment, one_window):
    """A host given a /64 can take a fresh address for every request."""
    answers = [
        look_up(client, "ABCDEFGH", "0000", REMOTE_ADDR=f"2001:db8:7:7::{n:x}").status_code
        for n in range(1, 12)
    ]
    assert answers == [400] * 10 + [429]
    assert look_up(client, "ABCDEFGH", "0000", REMOTE_ADDR="2001:db8:7:8::1").status_code == 400


def test_pages_with_a_comments_details_are_never_cached(client, comment):
    """Receipt, status and lookup answers carry a citizen's comment and masked contact: no
    shared cache or back button may keep them."""
    from consult.comments.status_links import status_token

    token = status_token(comment)
    pages = [
        client.get(f"/comments/{token}/receipt/"),
        client.get(f"/comments/{token}/"),
        client.get("/comments/status/"),
        look_up(client, comment.tracking_number, "5678"),
    ]
    for response in pages:
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]
        assert "private" in response["Cache-Control"], response.request["PATH_INFO"]


def language_next(page: str) -> str:
    return re.search(r'<input name="next" type="hidden" value="([^"]*)">', page).group(1)


def test_switching_language_on_a_lookup_answer_keeps_the_number_but_never_the_proof(
    client, comment
):
    """The answer to a lookup is a POST: the language switch leads back to the lookup with the
    number filled in, and the proof is asked again."""
    page = look_up(client, comment.tracking_number.lower(), "5678").content.decode()
    target = language_next(page).replace("&amp;", "&")
    assert target == f"/comments/status/?number={comment.tracking_number}"
    assert "5678" not in target
    switched = client.post("/i18n/setlang/", {"language": "en", "next": target})
    assert switched.status_code == 302 and switched["Location"] == target
    again = client.get(target).content.decode()
    assert f'value="{comment.tracking_number}"' in again
    assert "Tracking number" in again


def test_switching_language_on_a_failed_lookup_keeps_the_number_typed(client, comment):
    page = look_up(client, "abcd efgh", "0000").content.decode()
    assert language_next(page) == "/comments/status/?number=ABCDEFGH"


def test_the_signed_status_page_switches_language_in_place(client, comment):
    from consult.comments.status_links import status_token

    path = f"/comments/{status_token(comment)}/"
    assert language_next(client.get(path).content.decode()) == path


def status_page_at(client, comment, moment, **extra):
    from consult.comments.status_links import status_token

    with time_machine.travel(moment, tick=False):
        return client.get(f"/comments/{status_token(comment)}/", **extra).content.decode()


def test_before_the_answer_deadline_the_page_says_when_to_look_again(client, comment):
    deadline = comment.consultation.answer_deadline
    page = status_page_at(client, comment, deadline - datetime.timedelta(hours=1))
    assert "预计在" in page and "请届时再查" in page
    assert "已逾期" not in page and "已过" not in page


def test_past_the_answer_deadline_the_page_says_the_answer_is_overdue(client, comment):
    """The consultation's own rule (is_past_answer_deadline) decides: a second after it, the
    page no longer asks the citizen to look again on a day gone by."""
    deadline = comment.consultation.answer_deadline
    page = status_page_at(client, comment, deadline + datetime.timedelta(seconds=1))
    assert "预计在" not in page and "请届时再查" not in page
    assert "已逾期" in page
    assert "已过，负责单位尚未答复" in page and "潍坊市海洋发展和渔业局" in page
    # English chosen on the site: a signed page otherwise speaks the comment's own language.
    english = status_page_at(
        client, comment, deadline + datetime.timedelta(days=3), HTTP_COOKIE="django_language=en"
    )
    assert "overdue" in english and "look again" not in english


def test_an_answered_comment_says_nothing_of_the_deadline(client, comment):
    comment.status = "answered"
    comment.reply = "已采纳。"
    comment.save()
    page = status_page_at(
        client, comment, comment.consultation.answer_deadline + datetime.timedelta(days=3650)
    )
    assert "已逾期" not in page and "预计在" not in page


def test_on_the_english_page_the_bureau_s_chinese_answer_is_marked_as_chinese(client, comment):
    """An English voice read the decision's reason and the reply, in Chinese, as English."""
    comment.status, comment.decision = "answered", "not_adopted"
    comment.decision_reason, comment.reply = "与上位法不符。", "感谢您的建议。"
    comment.save()
    page = look_up(
        client, comment.tracking_number, "5678", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<dd lang="zh-Hans">与上位法不符。</dd>' in page
    assert '<span lang="zh-Hans">感谢您的建议。</span>' in page
