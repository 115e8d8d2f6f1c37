"""A field the submission schema does not name is refused, naming it: a misspelt `phone` or
`publish_consent` ignored would store the comment without what the organisation meant to give.
"""

import pytest
from drf_spectacular.generators import SchemaGenerator

from consult.comments.models import Comment
from consult.intake.api import (
    STATUS_LOOKUP_FIELDS,
    SUBMISSION_FIELDS,
    CommentSubmissionSerializer,
    StatusLookupSerializer,
)

# A valid organisation's comment, as the API's own tests have it.
from tests.intake.test_api import payload

pytestmark = pytest.mark.django_db


def comments_url(consultation):
    return f"/api/consultations/{consultation.slug}/comments/"


def test_a_misspelt_field_is_named_and_nothing_is_stored(api, weifang_open, item):
    body = payload(item, publish_consnet=True)

    response = api.post(comments_url(weifang_open), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["publish_consnet"]
    assert "/api/schema/" in response.json()["publish_consnet"][0]
    assert not Comment.objects.exists()


def test_every_unknown_field_is_named_with_the_other_errors(api, weifang_open, item):
    body = payload(item, phone_number="13812345678", website="", consent="yes")
    del body["phone"]

    response = api.post(comments_url(weifang_open), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"phone_number", "website", "consent"}


def test_the_message_is_in_the_request_s_language(api, weifang_open, item):
    response = api.post(
        comments_url(weifang_open),
        payload(item, Clause=3),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.json()["Clause"] == ["Unknown field: check its name against /api/schema/."]


def test_the_fields_taken_are_the_schema_s():
    assert set(CommentSubmissionSerializer().fields) == SUBMISSION_FIELDS


def test_every_field_of_the_schema_is_still_taken(api, weifang_open, item):
    body = payload(
        item,
        wants_reply=True,
        notify_on_report=False,
        publish_consent=True,
    )
    assert set(body) == SUBMISSION_FIELDS

    response = api.post(comments_url(weifang_open), body, format="json")

    assert response.status_code == 201, response.json()


def test_the_status_lookup_names_an_unknown_field_too(api, weifang_open, item):
    number = api.post(comments_url(weifang_open), payload(item), format="json").json()[
        "tracking_number"
    ]
    url = "/api/comments/status/"

    refused = api.post(url, {"tracking_number": number, "phone": "5678"}, format="json")
    found = api.post(url, {"tracking_number": number, "proof": "5678"}, format="json")

    assert refused.status_code == 400
    assert set(refused.json()) == {"phone", "proof"}
    assert found.status_code == 200


def test_the_status_lookup_takes_the_fields_of_its_schema():
    assert set(STATUS_LOOKUP_FIELDS) == set(StatusLookupSerializer().fields)


def test_the_schema_says_the_request_bodies_take_no_other_field():
    document = SchemaGenerator().get_schema(request=None, public=True)
    schemas = document["components"]["schemas"]

    assert schemas["CommentSubmission"]["additionalProperties"] is False
    assert schemas["StatusLookup"]["additionalProperties"] is False
