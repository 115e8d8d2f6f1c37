"""Hostile input that used to end in a 500: a 400 (or a form error) naming what is wrong.

Deeply nested JSON made the parser raise RecursionError; a lone surrogate ("\\ud800") passes
json.loads and Django's form fields, then PostgreSQL refuses it with UnicodeEncodeError (SQLite
stores it silently, so these tests assert the 400 and that nothing was stored).
"""

import datetime
import json

import pytest
import time_machine

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from tests.intake.test_api import BODY, payload

pytestmark = pytest.mark.django_db

SURROGATE = "\ud800"
EMAIL_WITH_SURROGATE = "office" + SURROGATE + "@example.org"
UNREADABLE = "无法识别的无效字符"  # in the message every refused field gets
DEPTH = 1000


@pytest.fixture
def comment(weifang_open, item):
    return comment_submit(
        consultation=weifang_open,
        clause=item,
        body=BODY,
        channel="api",
        consent=True,
        phone="13812345678",
        email="office@example.org",
    ).comment


def post_json(api, url, text):
    """The raw text as the request body: JSON escapes such as \\ud800 arrive as they are."""
    return api.post(url, data=text.encode("ascii"), content_type="application/json")


def comments_url(consultation):
    return f"/api/consultations/{consultation.slug}/comments/"


@pytest.mark.parametrize(
    ("language", "says"),
    [("zh-hans", "请求体不是有效的 JSON："), ("en", "The request body is not valid JSON: ")],
)
def test_a_body_that_is_not_json_is_refused_in_the_client_s_language(
    api, weifang_open, language, says
):
    # DRF's own "JSON parse error - …" came in English to every client.
    response = api.post(
        comments_url(weifang_open),
        data=b'{"body": "\xe5\xbb\xba\xe8\xae\xae", oops}',
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith(says) and "line 1 column" in detail
    assert Comment.objects.count() == 0


# Deeply nested JSON --------------------------------------------------------------------------


def nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "text",
    [
        nested(DEPTH),
        '{"body": ' + nested(DEPTH) + "}",
        '{"clause": ' + '{"a": ' * DEPTH + "1" + "}" * DEPTH + "}",
    ],
    ids=["array", "in-a-field", "objects"],
)
def test_deeply_nested_json_on_submit_is_a_400(api, weifang_open, text):
    response = post_json(api, comments_url(weifang_open), text)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert Comment.objects.count() == 0


def test_deeply_nested_json_on_status_lookup_is_a_400(api, comment):
    text = '{"tracking_number": "' + comment.tracking_number + '", "proof": ' + nested(DEPTH) + "}"
    response = post_json(api, "/api/comments/status/", text)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_brackets_inside_strings_do_not_count_as_nesting(api, weifang_open, item):
    body = BODY + "[" * 100 + "{" * 100
    response = post_json(
        api, comments_url(weifang_open), json.dumps(payload(item, body=body), ensure_ascii=True)
    )
    assert response.status_code == 201
    assert Comment.objects.get().body == body


def test_moderate_nesting_still_reaches_the_field_rules(api, weifang_open, item):
    text = json.dumps(payload(item, body=json.loads(nested(10))))
    response = post_json(api, comments_url(weifang_open), text)
    assert response.status_code == 400
    assert set(response.json()) == {"body"}


# Lone surrogates through the API -------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("body", BODY + SURROGATE),
        ("name", "张" + SURROGATE),
        ("organisation", "潍坊市" + SURROGATE + "协会"),
        ("phone", "138" + SURROGATE + "12345678"),
        ("email", "office" + SURROGATE + "@example.org"),
        ("kind", SURROGATE),
    ],
)
def test_a_lone_surrogate_in_a_field_is_a_400_naming_it(api, weifang_open, item, field, value):
    text = json.dumps(payload(item, **{field: value}), ensure_ascii=True)
    assert "\\ud800" in text
    response = post_json(api, comments_url(weifang_open), text)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {field}
    assert UNREADABLE in errors[field][0]
    assert Comment.objects.count() == 0


def test_a_lone_surrogate_in_a_field_name_is_a_400_naming_it_encodably(api, weifang_open, item):
    """The unknown name was echoed raw: the answer could not be encoded, a 500."""
    text = json.dumps({**payload(item), "foo" + SURROGATE + "bar": 1}, ensure_ascii=True)
    response = post_json(api, comments_url(weifang_open), text)
    assert response.status_code == 400
    assert set(response.json()) == {"foo\ufffdbar"}
    assert Comment.objects.count() == 0


@pytest.mark.parametrize("field", ["body", "name"])
def test_a_noncharacter_in_a_field_is_a_400_naming_it(api, weifang_open, item, field):
    """U+FFFF was stored, and then no XLSX export holding the comment could be built."""
    value = (BODY if field == "body" else "张三") + "\uffff"
    response = api.post(comments_url(weifang_open), payload(item, **{field: value}), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert Comment.objects.count() == 0


def test_a_phone_whose_canonical_form_outgrows_the_column_is_a_400_naming_it(
    api, weifang_open, item
):
    """29 characters as typed, 31 once "ext" is written ";ext=": PostgreSQL refused the row
    with an error (a 500) and SQLite stored it over the column's length."""
    phone = "+16502530000ext12345678901234"
    assert len(phone) <= 30
    response = api.post(comments_url(weifang_open), payload(item, phone=phone), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"phone"}
    assert Comment.objects.count() == 0
    shorter = api.post(
        comments_url(weifang_open), payload(item, phone="+16502530000ext1234"), format="json"
    )
    assert shorter.status_code == 201
    assert Comment.objects.get().phone == "+16502530000;ext=1234"


def test_a_phone_as_long_as_the_schema_allows_is_taken_in_its_canonical_form(
    api, weifang_open, item
):
    """The schema and the form said 40 characters, the rule 30: a number typed with its
    spaces and extension was refused by an endpoint that documents it as fine."""
    phone = "+86 138-1234-5678 ext. 99999999"
    assert 30 < len(phone) <= 40
    response = api.post(comments_url(weifang_open), payload(item, phone=phone), format="json")
    assert response.status_code == 201
    assert Comment.objects.get().phone == "+8613812345678;ext=99999999"
    too_long = api.post(comments_url(weifang_open), payload(item, phone="1" * 41), format="json")
    assert too_long.status_code == 400 and set(too_long.json()) == {"phone"}


def test_a_lone_surrogate_in_the_email_proof_is_a_400_naming_it(api, comment):
    text = json.dumps(
        {"tracking_number": comment.tracking_number, "proof": EMAIL_WITH_SURROGATE},
        ensure_ascii=True,
    )
    response = post_json(api, "/api/comments/status/", text)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"proof"}
    assert UNREADABLE in errors["proof"][0]


def test_a_lone_surrogate_in_the_tracking_number_is_a_400_naming_it(api, comment):
    text = json.dumps(
        {"tracking_number": comment.tracking_number + SURROGATE, "proof": "5678"},
        ensure_ascii=True,
    )
    response = post_json(api, "/api/comments/status/", text)
    assert response.status_code == 400
    assert set(response.json()) == {"tracking_number"}


def test_the_right_proof_still_finds_the_comment(api, comment):
    text = json.dumps({"tracking_number": comment.tracking_number, "proof": "office@example.org"})
    response = post_json(api, "/api/comments/status/", text)
    assert response.status_code == 200


# Lone surrogates through the web form --------------------------------------------------------
# A browser cannot send one in UTF-8, but a multipart form posted in another charset can: UTF-7
# decodes "+2AA-" to "\\ud800", and Django decodes multipart fields in the charset the request
# names. (Django refuses urlencoded forms in any charset but UTF-8.)

BOUNDARY = "BoUnDaRy"


def post_utf7(client, url, data):
    # Each value encoded on its own, so its UTF-7 shift sequence ends inside its own part.
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode("utf-7")
        + b"\r\n"
        for name, value in data.items()
    ]
    # generic(): post() would encode the body again in the charset the content type names.
    return client.generic(
        "POST",
        url,
        b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(),
        content_type=f"multipart/form-data; boundary={BOUNDARY}; charset=utf-7",
    )


def web_submission(**overrides):
    data = {
        "body": BODY,
        "name": "张三",
        "kind": "company",
        "organisation": "潍坊某某公司",
        "phone": "13812345678",
        "email": "zhang@example.cn",
        "consent": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "field, value",
    [
        ("body", BODY + SURROGATE),
        ("name", "张" + SURROGATE),
        ("organisation", "潍坊" + SURROGATE + "公司"),
        ("phone", "138" + SURROGATE + "12345678"),
        ("email", "zhang" + SURROGATE + "@example.cn"),
        ("kind", SURROGATE),
    ],
)
def test_the_web_form_names_a_field_with_a_lone_surrogate(client, weifang_open, item, field, value):
    url = f"/consultations/{weifang_open.slug}/clauses/{item.pk}/comment/"
    response = post_utf7(client, url, web_submission(**{field: value}))
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {field}
    assert UNREADABLE in form.errors[field][0]
    page = response.content.decode()  # the page shows the value back, without the surrogate
    assert UNREADABLE in page
    assert Comment.objects.count() == 0


def test_the_web_form_still_accepts_the_same_post_without_the_surrogate(client, weifang_open, item):
    url = f"/consultations/{weifang_open.slug}/clauses/{item.pk}/comment/"
    response = post_utf7(client, url, web_submission())
    assert response.status_code == 302
    assert Comment.objects.get().organisation == "潍坊某某公司"


def test_the_web_status_lookup_names_a_proof_with_a_lone_surrogate(client, comment):
    response = post_utf7(
        client,
        "/comments/status/",
        {"tracking_number": comment.tracking_number, "proof": EMAIL_WITH_SURROGATE},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"proof"}
    assert UNREADABLE in form.errors["proof"][0]


# The bureau's contact phone, in full where citizens read it --------------------------------


def test_the_bureau_s_contact_phone_is_shown_in_full_to_be_dialled(api, client, weifang_open):
    """It was masked (0536-****688) like a citizen's: the office the accessibility statement
    sends people to could not be called, while the notice's own text gave the number."""
    weifang_open.contact_phone = "0536-8888688"
    weifang_open.save(update_fields=["contact_phone"])
    contact = api.get(f"/api/consultations/{weifang_open.slug}/").json()["contact"]
    assert contact["phone"] == "0536-8888688"
    page = client.get(weifang_open.get_absolute_url()).content.decode()
    assert '<a href="tel:0536-8888688">0536-8888688</a>' in page


def test_every_moment_the_api_answers_with_is_beijing_time_with_its_offset(api, weifang_open, item):
    """Responses built by hand gave the database's UTC ("2024-10-14T16:30:00Z" for a comment
    sent at 00:30 Beijing time: another date), the serializers' +08:00."""
    created = api.post(comments_url(weifang_open), payload(item), format="json")
    assert created.status_code == 201
    assert created.json()["submitted_at"].endswith("+08:00")
    comment = Comment.objects.get()
    lookup = api.post(
        "/api/comments/status/",
        {"tracking_number": comment.tracking_number, "proof": "5678"},
        format="json",
    )
    assert lookup.status_code == 200, lookup.json()
    assert lookup.json()["submitted_at"].endswith("+08:00")
    with time_machine.travel(weifang_open.closes_at + datetime.timedelta(seconds=1), tick=False):
        closed = api.post(comments_url(weifang_open), payload(item), format="json")
    assert closed.status_code == 409
    assert closed.json()["closes_at"].endswith("+08:00")
    assert closed.json()["opens_at"].endswith("+08:00")
