"""Errors name what is wrong, in the request's language: the API's 404s name no internal model,
each status lookup field is named for itself, a page past the last is missing rather than the
last page again; the published kind of submitter is a code beside its words; a receipt is kept
by no cache; a comment of invisible characters is no comment; an organisation's name refused
for what it holds is not also said to be missing.
"""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.publication import comment_publish
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join

# A valid organisation's comment, as the API's own tests have it.
from tests.intake.test_api import BODY, payload

pytestmark = pytest.mark.django_db

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def comments_url(consultation):
    return f"/api/consultations/{consultation.slug}/comments/"


def published_url(consultation):
    return f"/api/consultations/{consultation.slug}/published-comments/"


# 404s under /api/ --------------------------------------------------------------------------


def test_the_api_s_404s_are_translated_and_name_no_model(api, weifang_open, item):
    urls = [
        "/api/consultations/nope/",
        "/api/consultations/nope/published-comments/",
        f"{published_url(weifang_open)}?clause=999999",
    ]
    for url in urls:
        response = api.get(url)
        assert (response.status_code, response.json()) == (404, {"detail": "未找到。"}), url
        english = api.get(url, **ENGLISH).json()["detail"]
        assert "Consultation" not in english and "Clause" not in english, url
    response = api.post("/api/consultations/nope/comments/", payload(item), format="json")
    assert (response.status_code, response.json()) == (404, {"detail": "未找到。"})


# Status lookups name each field ------------------------------------------------------------


@pytest.fixture
def tracking_number(api, weifang_open, item):
    response = api.post(comments_url(weifang_open), payload(item), format="json")
    return response.json()["tracking_number"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"tracking_number": "NUMBER"}, {"proof": ["此项为必填项。"]}),
        ({"tracking_number": "NUMBER", "proof": 5678}, {"proof": ["应为字符串。"]}),
        ({"tracking_number": "NUMBER", "proof": None}, {"proof": ["此项为必填项。"]}),
        ({"proof": "5678"}, {"tracking_number": ["此项为必填项。"]}),
        ({"tracking_number": 12, "proof": "5678"}, {"tracking_number": ["应为字符串。"]}),
        ({}, {"tracking_number": ["此项为必填项。"], "proof": ["此项为必填项。"]}),
        ([1], {"non_field_errors": ["请求体应为 JSON 对象。"]}),
        ("5678", {"non_field_errors": ["请求体应为 JSON 对象。"]}),
    ],
)
def test_the_post_lookup_names_each_field_refused(api, tracking_number, body, named):
    if isinstance(body, dict) and body.get("tracking_number") == "NUMBER":
        body = {**body, "tracking_number": tracking_number}
    response = api.post("/api/comments/status/", body, format="json")
    assert response.status_code == 400
    assert response.json() == named
    assert response["Cache-Control"].count("no-store") == 1


@pytest.mark.parametrize("query", [{}, {"email": ""}])
def test_the_get_lookup_without_a_proof_names_the_proofs_it_takes(api, tracking_number, query):
    response = api.get(f"/api/comments/{tracking_number}/status", query)
    assert response.status_code == 400
    assert set(response.json()) == {"phone_last4", "email"}
    assert "phone_last4" in response.json()["email"][0]


# Published comments ------------------------------------------------------------------------


@pytest.fixture
def company_comment_published(weifang_open, item):
    bureau = User.objects.create_user("hyj", password="pw")
    staff_join(bureau, Department.objects.get(name="市海渔局"))
    comment = comment_submit(
        consultation=weifang_open,
        clause=item,
        body=BODY,
        channel=Comment.Channel.API,
        consent=True,
        publish_consent=True,
        submitter_kind=Comment.Kind.COMPANY,
        organisation="寿光某某水产公司",
    ).comment
    return comment_publish(comment=comment, user=bureau)


def test_the_kind_of_submitter_is_a_code_with_its_words_beside(
    api, weifang_open, company_comment_published
):
    [row] = api.get(published_url(weifang_open)).json()["results"]
    assert (row["submitter_kind"], row["submitter_kind_display"]) == ("company", "企业")
    [row] = api.get(published_url(weifang_open), **ENGLISH).json()["results"]
    assert row["submitter_kind"] == "company"


def test_the_schema_lists_the_codes_of_the_kind_of_submitter(api):
    schemas = api.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    published = schemas["PublishedComment"]["properties"]
    [ref] = [part["$ref"] for part in published["submitter_kind"]["allOf"]]
    assert schemas[ref.rsplit("/", 1)[1]]["enum"] == [
        "individual",
        "company",
        "organisation",
        "other",
    ]
    assert published["submitter_kind_display"]["type"] == "string"


def test_a_page_past_the_last_is_not_found_naming_the_page(
    api, weifang_open, company_comment_published
):
    first = api.get(published_url(weifang_open), {"page": "1"})
    assert first.status_code == 200 and len(first.json()["results"]) == 1
    response = api.get(published_url(weifang_open), {"page": "2"})
    assert response.status_code == 404
    assert list(response.json()) == ["page"]
    assert "1" in response.json()["page"][0]


def test_an_empty_list_has_its_first_page_and_no_second(api, weifang_open):
    first = api.get(published_url(weifang_open))
    assert first.status_code == 200 and first.json()["results"] == []
    assert api.get(published_url(weifang_open), {"page": "2"}).status_code == 404


# The receipt -------------------------------------------------------------------------------


def test_the_receipt_and_its_repeat_are_kept_by_no_cache(api, weifang_open, item):
    key = {"HTTP_IDEMPOTENCY_KEY": "k-receipt"}
    for expected in (201, 200):
        response = api.post(comments_url(weifang_open), payload(item), format="json", **key)
        assert response.status_code == expected
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= cache_control


# Invisible text ----------------------------------------------------------------------------

INVISIBLE = [
    "\u200b" * 20,  # zero-width spaces
    "\u202e\u202d\u2066\u2069\u200e\u200f" * 4,  # bidirectional controls
    "\ufeff\u2060\u200c\u200d" * 5,  # byte order marks, word joiners, zero-width (non-)joiners
]


@pytest.mark.parametrize("body", INVISIBLE)
def test_a_comment_of_invisible_characters_is_refused_by_the_api(api, weifang_open, item, body):
    response = api.post(comments_url(weifang_open), payload(item, body=body), format="json")
    assert response.status_code == 400
    assert response.json() == {"body": ["请填写意见内容。"]}
    assert not Comment.objects.exists()


@pytest.mark.parametrize("body", INVISIBLE)
def test_a_comment_of_invisible_characters_is_refused_by_the_form(client, weifang_open, body):
    data = {"body": body, "kind": "individual", "consent": "on"}
    response = client.post(reverse("intake:comment_create", args=[weifang_open.slug]), data)
    assert response.status_code == 400
    assert response.context["form"].errors["body"] == ["请填写意见内容。"]
    assert not Comment.objects.exists()


def test_only_visible_characters_count_towards_the_shortest_comment(api, weifang_open, item):
    padded = "建议公开结果" + "\u200b" * 10  # six characters shown, sixteen sent
    response = api.post(comments_url(weifang_open), payload(item, body=padded), format="json")
    assert response.status_code == 400
    [message] = response.json()["body"]
    assert "至少 10 个字" in message and "现有 6 个" in message
    assert "不可见字符不计" in message
    shown = "一二三四五六七八九十\u200b"
    assert (
        api.post(comments_url(weifang_open), payload(item, body=shown), format="json").status_code
        == 201
    )


@pytest.mark.parametrize("body", ["Good idea.", "I agree it", "建议 公开 评选 结果 。"])
def test_spaces_between_words_still_count(api, weifang_open, item, body):
    """Ten characters with their spaces, as always: only the invisible ones are not counted."""
    response = api.post(comments_url(weifang_open), payload(item, body=body), format="json")
    assert response.status_code == 201, response.json()


def test_spaces_between_invisible_characters_are_no_comment(api, weifang_open, item):
    body = "\u200b" + " " * 12 + "\u200b"
    response = api.post(comments_url(weifang_open), payload(item, body=body), format="json")
    assert response.json() == {"body": ["请填写意见内容。"]}


# An organisation's name refused for what it holds -------------------------------------------


def test_an_organisation_refused_for_a_control_character_is_not_also_missing(
    api, client, weifang_open, item
):
    organisation = "潍坊市某某\x07渔业协会"
    response = api.post(
        comments_url(weifang_open), payload(item, organisation=organisation), format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"organisation": ["内容含有不可见的控制字符，请删除后重新提交。"]}
    page = client.post(
        reverse("intake:comment_create", args=[weifang_open.slug]),
        {"body": BODY, "kind": "organisation", "organisation": organisation, "consent": "on"},
    )
    assert page.context["form"].errors["organisation"] == [
        "内容含有不可见的控制字符，请删除后重新提交。"
    ]
