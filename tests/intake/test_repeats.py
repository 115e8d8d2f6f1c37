"""A repeat (a double click, a resend, a client's retry) is recognised only for the submitter who
sent the first copy: the same browser session on the web, the same Idempotency-Key on the API.

Anyone else sending the same text with the same contact details is storing a comment of their
own, and never sees another person's receipt (issue 15, item 5).
"""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from consult.comments.models import Attachment, Comment
from consult.comments.services import comment_submit
from consult.comments.status_links import tracking_number_from_token
from tests.support.receipts import same_receipt

pytestmark = pytest.mark.django_db

BODY = "建议在第1项中明确集聚区的评价指标，并公开评选结果。"
CAMPAIGN = "我们反对在本村附近建设养殖集聚区。"
VICTIM_PHONE = "13812345678"


@pytest.fixture
def item(weifang_open):
    return weifang_open.clauses.get(label="二(一)1")


def form_url(consultation, clause):
    return reverse("intake:clause_comment_create", args=[consultation.slug, clause.pk])


def web_post(client, consultation, clause, **overrides):
    data = {
        "body": BODY,
        "name": "张三",
        "kind": "individual",
        "phone": VICTIM_PHONE,
        "email": "",
        "consent": "on",
        **overrides,
    }
    return client.post(form_url(consultation, clause), data, REMOTE_ADDR="203.0.113.7")


def pdf(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "方案.pdf", b"%PDF-1.7\n1 0 obj\n" + content, content_type="application/pdf"
    )


def receipt_number(response) -> str:
    """The tracking number behind the receipt a web submission redirects to."""
    assert response.status_code == 302, response.content.decode()[:500]
    token = response["Location"].split("?")[0].split("/")[2]
    number = tracking_number_from_token(token)
    assert number is not None, response["Location"]
    return number


def api_post(api, consultation, clause, key=None, **overrides):
    data = {
        "clause": clause.pk,
        "body": BODY,
        "name": "某某渔业协会",
        "kind": "organisation",
        "organisation": "潍坊市某某渔业协会",
        "phone": VICTIM_PHONE,
        "consent": True,
        **overrides,
    }
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return api.post(
        f"/api/consultations/{consultation.slug}/comments/",
        data,
        format="json",
        REMOTE_ADDR="203.0.113.7",
        **headers,
    )


class TestWeb:
    def test_another_session_with_the_victims_phone_and_text_stores_its_own_comment(
        self, weifang_open, item
    ):
        victim, attacker = Client(), Client()
        victim.get(form_url(weifang_open, item))
        victims_number = receipt_number(web_post(victim, weifang_open, item))

        response = web_post(attacker, weifang_open, item)

        attackers_number = receipt_number(response)
        assert attackers_number != victims_number
        assert "repeat=1" not in response["Location"]
        assert Comment.objects.count() == 2
        receipt = attacker.get(response["Location"]).content.decode()
        assert victims_number not in receipt

    def test_two_citizens_at_one_address_sending_a_campaign_text_are_both_stored(
        self, weifang_open, item
    ):
        first, second = Client(), Client()
        for client in (first, second):
            response = web_post(client, weifang_open, item, body=CAMPAIGN, phone="", name="")
            assert "repeat=1" not in response["Location"]
        assert Comment.objects.filter(body=CAMPAIGN).count() == 2

    def test_a_double_click_in_one_session_returns_that_sessions_receipt(
        self, client, weifang_open, item
    ):
        client.get(form_url(weifang_open, item))
        first = web_post(client, weifang_open, item)
        second = web_post(client, weifang_open, item)
        assert Comment.objects.count() == 1
        assert same_receipt(first["Location"], second["Location"])
        assert "repeat=1" in second["Location"]

    @pytest.mark.parametrize(
        "changed",
        [
            {"publish_consent": "on"},
            {"wants_reply": "on"},
            {"kind": "company", "organisation": "潍坊市某某水产有限公司"},
            {"name": "张三丰"},
            {"email": "zhangsan@example.cn", "notify_on_report": "on"},
        ],
        ids=["publication", "reply", "organisation", "name", "report_email"],
    )
    def test_a_resend_with_a_choice_changed_is_stored_not_thrown_away(
        self, client, weifang_open, item, changed
    ):
        """It was answered "我们没有重复登记" and what it changed was lost."""
        first = receipt_number(web_post(client, weifang_open, item))
        second = web_post(client, weifang_open, item, **changed)
        assert receipt_number(second) != first
        assert "repeat=1" not in second["Location"]
        assert Comment.objects.count() == 2

    def test_a_resend_that_adds_a_file_or_another_file_is_stored(self, client, weifang_open, item):
        first = receipt_number(web_post(client, weifang_open, item))
        with_file = web_post(client, weifang_open, item, attachment=pdf(b"first"))
        assert receipt_number(with_file) != first
        other_file = web_post(client, weifang_open, item, attachment=pdf(b"other"))
        assert receipt_number(other_file) not in {first, receipt_number(with_file)}
        assert Comment.objects.count() == 3
        assert Attachment.objects.count() == 2

    def test_a_double_click_with_a_file_is_one_comment_with_one_file(
        self, client, weifang_open, item
    ):
        first = web_post(client, weifang_open, item, attachment=pdf(b"same"))
        second = web_post(client, weifang_open, item, attachment=pdf(b"same"))
        assert receipt_number(second) == receipt_number(first)
        assert "repeat=1" in second["Location"]
        assert (Comment.objects.count(), Attachment.objects.count()) == (1, 1)

    def test_a_session_that_posts_without_visiting_the_form_is_still_recognised(
        self, client, weifang_open, item
    ):
        first = web_post(client, weifang_open, item)
        second = web_post(client, weifang_open, item)
        assert receipt_number(second) == receipt_number(first)
        assert Comment.objects.count() == 1

    def test_the_same_session_with_other_contact_details_is_a_new_comment(
        self, client, weifang_open, item
    ):
        first = receipt_number(web_post(client, weifang_open, item))
        second = receipt_number(web_post(client, weifang_open, item, phone="13900001111"))
        assert first != second
        assert Comment.objects.count() == 2

    def test_the_same_session_after_ten_minutes_is_a_new_comment(self, weifang_open, item):
        client = Client()
        start = weifang_open.opens_at + datetime.timedelta(hours=1)
        with time_machine.travel(start, tick=False):
            first = receipt_number(web_post(client, weifang_open, item))
        with time_machine.travel(start + datetime.timedelta(minutes=11), tick=False):
            second = receipt_number(web_post(client, weifang_open, item))
        assert first != second
        assert Comment.objects.count() == 2

    def test_a_web_victim_is_not_answered_to_an_api_attacker(self, weifang_open, item):
        victims_number = receipt_number(web_post(Client(), weifang_open, item))
        response = api_post(APIClient(), weifang_open, item, name="张三", kind="individual")
        assert response.status_code == 201
        assert response.json()["tracking_number"] != victims_number
        assert response.json()["repeat"] is False


class TestApi:
    def test_without_an_idempotency_key_every_post_is_stored(self, weifang_open, item):
        api = APIClient()
        first = api_post(api, weifang_open, item)
        second = api_post(api, weifang_open, item)
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json()["tracking_number"] != second.json()["tracking_number"]
        assert Comment.objects.count() == 2

    def test_the_same_key_is_answered_with_the_first_response(self, weifang_open, item):
        api = APIClient()
        key = "6f1c2c1e-8f0e-4c55-9d8a-3f1f5b2f7a10"
        first = api_post(api, weifang_open, item, key=key)
        second = api_post(APIClient(), weifang_open, item, key=key)
        assert (first.status_code, second.status_code) == (201, 200)
        assert second.json()["tracking_number"] == first.json()["tracking_number"]
        assert second.json()["repeat"] is True
        assert Comment.objects.count() == 1

    def test_another_key_with_the_same_comment_stores_it_again(self, weifang_open, item):
        api = APIClient()
        first = api_post(api, weifang_open, item, key="key-of-the-victim-0001")
        second = api_post(api, weifang_open, item, key="key-of-someone-else-02")
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json()["tracking_number"] != second.json()["tracking_number"]
        assert Comment.objects.count() == 2

    def test_the_same_key_with_another_comment_is_not_a_repeat(self, weifang_open, item):
        api = APIClient()
        key = "a5a0f3d4-0d6c-4f0b-b2a1-1a7c9c2d3e4f"
        first = api_post(api, weifang_open, item, key=key)
        second = api_post(api, weifang_open, item, key=key, body=f"{BODY}补充一点。")
        assert (first.status_code, second.status_code) == (201, 201)
        assert first.json()["tracking_number"] != second.json()["tracking_number"]

    def test_the_same_key_after_ten_minutes_is_a_new_comment(self, weifang_open, item):
        api = APIClient()
        key = "0e3e4d1b-3b7f-4a89-8d0e-2b9b1f6f8a77"
        start = weifang_open.opens_at + datetime.timedelta(hours=1)
        with time_machine.travel(start, tick=False):
            assert api_post(api, weifang_open, item, key=key).status_code == 201
        with time_machine.travel(start + datetime.timedelta(minutes=11), tick=False):
            assert api_post(api, weifang_open, item, key=key).status_code == 201
        assert Comment.objects.count() == 2

    def test_an_api_victim_is_not_answered_to_a_web_attacker(self, weifang_open, item):
        key = "d0c1b6a2-5e44-4d3e-9b6b-7f0d3e2a1c55"
        victim = api_post(APIClient(), weifang_open, item, key=key)
        response = web_post(Client(), weifang_open, item, name="某某渔业协会")
        assert receipt_number(response) != victim.json()["tracking_number"]
        assert "repeat=1" not in response["Location"]

    def test_the_schema_documents_the_idempotency_key_header(self):
        schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
        operation = schema["paths"]["/api/consultations/{slug}/comments/"]["post"]
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"]
        assert "Idempotency-Key" in operation.get("description", "")


class TestService:
    """The one rule both edges call: a repeat only within the submitter's own submissions."""

    def submit(self, consultation, clause, **extra):
        return comment_submit(
            consultation=consultation,
            clause=clause,
            body=BODY,
            channel=Comment.Channel.WEB,
            consent=True,
            phone=VICTIM_PHONE,
            ip="203.0.113.7",
            **extra,
        )

    def test_without_a_scope_every_submission_is_stored(self, weifang_open, item):
        first = self.submit(weifang_open, item)
        second = self.submit(weifang_open, item)
        assert first.created and second.created
        assert first.comment.pk != second.comment.pk

    def test_within_one_scope_a_repeat_returns_the_first(self, weifang_open, item):
        first = self.submit(weifang_open, item, repeat_scope="session:abc")
        again = self.submit(weifang_open, item, repeat_scope="session:abc")
        other = self.submit(weifang_open, item, repeat_scope="session:xyz")
        assert (first.created, again.created, other.created) == (True, False, True)
        assert again.comment.pk == first.comment.pk
        assert other.comment.pk != first.comment.pk
