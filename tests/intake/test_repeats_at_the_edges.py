"""A repeat (a double click, a client's retry) of a comment that was stored gets its receipt at
the edges too: across the close of the comment period and across the rate limit. The repeat is
looked for first (comment_submit, under its lock); only then are the period checked and the
submission counted, so a repeat is never refused and never costs budget.

Found before: the first post stored at 23:59:59, the second of the double click at 00:00:01
got the closed page (403), an API retry with the same Idempotency-Key after the close 409, and
the second post of a double click crossing the rate limit 429, each for a stored comment.
"""

import datetime

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from consult.comments import services
from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.comments.status_links import tracking_number_from_token
from consult.intake import limits
from tests.intake.test_api import BODY
from tests.intake.test_api import payload as api_payload
from tests.intake.test_form import form_url, valid

pytestmark = pytest.mark.django_db

KEY = {"HTTP_IDEMPOTENCY_KEY": "3b0e8a52-6a55-4c1e-9f3e-5d2f0c8b7a61"}
OTHER_BODY = "另一条意见：建议公开集聚区评选的标准和结果。"


def at(moment):
    return time_machine.travel(moment, tick=False)


def api_post(api, consultation, data, **headers):
    url = f"/api/consultations/{consultation.slug}/comments/"
    return api.post(url, data, format="json", **headers)


def receipt_number(response) -> str:
    assert response.status_code == 302, response.content.decode()[:300]
    number = tracking_number_from_token(response["Location"].split("/")[2])
    assert number is not None, response["Location"]
    return number


@pytest.fixture
def counted(monkeypatch):
    """Each time a submission's rate limits are counted (one round trip each)."""
    calls = []
    counters_hit = limits.counters_hit

    def counting(keys):
        calls.append(keys)
        return counters_hit(keys)

    monkeypatch.setattr(limits, "counters_hit", counting)
    return calls


# Across the close ---------------------------------------------------------------------------


def test_a_double_click_across_the_close_gets_the_receipt_of_the_stored_comment(
    client, weifang_open, item
):
    url = form_url(weifang_open, item)
    with at(weifang_open.closes_at - datetime.timedelta(seconds=3)):
        assert client.get(url).status_code == 200
    with at(weifang_open.closes_at - datetime.timedelta(seconds=1)):
        first = client.post(url, valid())
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        second = client.post(url, valid())
    assert receipt_number(second) == receipt_number(first)
    assert second["Location"].endswith("?repeat=1")
    assert Comment.objects.count() == 1


def test_a_new_comment_after_the_close_gets_the_closed_page(client, weifang_open, item):
    url = form_url(weifang_open, item)
    with at(weifang_open.closes_at - datetime.timedelta(seconds=1)):
        receipt_number(client.post(url, valid()))
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        another = client.post(url, valid(body=OTHER_BODY))
        elsewhere = Client().post(url, valid())  # the same text from another browser
    for response in (another, elsewhere):
        assert response.status_code == 403
        assert "intake/comment_closed.html" in [t.name for t in response.templates]
    assert Comment.objects.count() == 1


def test_a_form_with_errors_after_the_close_gets_the_closed_page(client, weifang_open, item):
    """Correcting the fields would not help: the closed page, not the form's errors."""
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        response = client.post(form_url(weifang_open, item), valid(body="太短了"))
    assert response.status_code == 403
    assert "intake/comment_closed.html" in [t.name for t in response.templates]


def test_an_api_retry_after_the_close_gets_the_first_receipt(weifang_open, item):
    api = APIClient()
    with at(weifang_open.closes_at - datetime.timedelta(seconds=1)):
        first = api_post(api, weifang_open, api_payload(item), **KEY)
    with at(weifang_open.closes_at + datetime.timedelta(seconds=2)):
        retry = api_post(api, weifang_open, api_payload(item), **KEY)
    assert (first.status_code, retry.status_code) == (201, 200), retry.json()
    assert retry.json()["tracking_number"] == first.json()["tracking_number"]
    assert retry.json()["repeat"] is True
    assert Comment.objects.count() == 1


def test_after_the_close_the_api_answers_409_to_anything_but_a_retry(weifang_open, item):
    api = APIClient()
    with at(weifang_open.closes_at - datetime.timedelta(seconds=1)):
        assert api_post(api, weifang_open, api_payload(item), **KEY).status_code == 201
    with at(weifang_open.closes_at + datetime.timedelta(seconds=2)):
        other_text = api_post(api, weifang_open, api_payload(item, body=OTHER_BODY), **KEY)
        no_key = api_post(api, weifang_open, api_payload(item))
        invalid = api_post(api, weifang_open, api_payload(item, body="太短"), **KEY)
        not_an_object = api_post(api, weifang_open, [1, 2], **KEY)
    for response in (other_text, no_key, invalid, not_an_object):
        assert response.status_code == 409, response.json()
        assert "closes_at" in response.json()
    assert Comment.objects.count() == 1


def test_comment_submit_returns_the_repeat_whatever_the_period_says(weifang_open, item):
    fields = {
        "consultation": weifang_open,
        "clause": item,
        "body": BODY,
        "channel": Comment.Channel.API,
        "consent": True,
        "repeat_scope": "idempotency-key:k-1",
    }
    first = comment_submit(**fields, now=weifang_open.closes_at)
    late = weifang_open.closes_at + datetime.timedelta(seconds=1)
    repeat = comment_submit(**fields, now=late)
    assert first.created and not repeat.created
    assert repeat.comment.pk == first.comment.pk


# Across the rate limit ----------------------------------------------------------------------


def test_a_double_click_crossing_the_rate_limit_gets_the_receipt(
    client, weifang_open, item, settings
):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["2/m"]
    url = form_url(weifang_open, item)
    with at(weifang_open.closes_at - datetime.timedelta(minutes=30)):
        client.get(url)
        receipt_number(client.post(url, valid(body=OTHER_BODY)))
        first = client.post(url, valid())
        second = client.post(url, valid())
        third = client.post(url, valid(body=OTHER_BODY + "（补充）"))
    assert receipt_number(second) == receipt_number(first)
    assert third.status_code == 429  # a new comment is counted, and over the limit
    assert Comment.objects.count() == 2


def test_an_api_retry_crossing_the_rate_limit_gets_the_first_receipt(weifang_open, item, settings):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["2/m"]
    api = APIClient()
    with at(weifang_open.closes_at - datetime.timedelta(minutes=30)):
        assert api_post(api, weifang_open, api_payload(item, body=OTHER_BODY)).status_code == 201
        first = api_post(api, weifang_open, api_payload(item), **KEY)
        retry = api_post(api, weifang_open, api_payload(item), **KEY)
    assert (first.status_code, retry.status_code) == (201, 200), retry.json()
    assert retry.json()["tracking_number"] == first.json()["tracking_number"]


def test_a_repeat_costs_no_budget(weifang_open, item, settings):
    settings.COMMENT_RATE_LIMITS_PER_CONTACT = ["2/m"]
    api = APIClient()
    with at(weifang_open.closes_at - datetime.timedelta(minutes=30)):
        codes = [
            api_post(api, weifang_open, api_payload(item), **KEY).status_code,
            api_post(api, weifang_open, api_payload(item), **KEY).status_code,
            api_post(api, weifang_open, api_payload(item), **KEY).status_code,
            api_post(api, weifang_open, api_payload(item, body=OTHER_BODY)).status_code,
            api_post(api, weifang_open, api_payload(item, body=OTHER_BODY + "！")).status_code,
        ]
    assert codes == [201, 200, 200, 201, 429]


def test_a_new_comment_is_counted_once_and_a_repeat_not_at_all(client, weifang_open, item, counted):
    url = form_url(weifang_open, item)
    client.get(url)
    receipt_number(client.post(url, valid()))
    assert len(counted) == 1
    receipt_number(client.post(url, valid()))  # the double click's second post
    assert len(counted) == 1
    api = APIClient()
    assert api_post(api, weifang_open, api_payload(item), **KEY).status_code == 201
    assert api_post(api, weifang_open, api_payload(item), **KEY).status_code == 200
    assert api_post(api, weifang_open, api_payload(item)).status_code == 201
    assert len(counted) == 3


def test_a_page_of_errors_and_a_post_after_the_close_cost_no_budget(
    client, weifang_open, item, counted
):
    url = form_url(weifang_open, item)
    assert client.post(url, valid(body="太短了")).status_code == 400
    with at(weifang_open.closes_at + datetime.timedelta(seconds=1)):
        assert client.post(url, valid()).status_code == 403
    assert counted == []


def test_comment_submit_refused_by_the_limit_stores_nothing(weifang_open, item):
    asked = []

    def over_the_limit():
        asked.append(True)
        return 42

    with pytest.raises(services.SubmissionLimited) as refused:
        comment_submit(
            consultation=weifang_open,
            clause=item,
            body=BODY,
            channel=Comment.Channel.API,
            consent=True,
            repeat_scope="idempotency-key:k-2",
            rate_limit=over_the_limit,
        )
    assert refused.value.wait == 42 and asked == [True]
    assert not Comment.objects.exists()
