"""The REST API contract, through DRF's test client: the names outside clients rely on."""

import datetime
import json

import pytest
import time_machine
from django.core import mail
from rest_framework.test import APIClient

from consult.comments.models import Comment

pytestmark = pytest.mark.django_db

BODY = "建议在第1项中明确集聚区的评价指标，并公开评选结果。"


def payload(target, **overrides):
    data = {
        "clause": target.pk if target is not None else None,
        "body": BODY,
        "name": "某某渔业协会",
        "kind": "organisation",
        "organisation": "潍坊市某某渔业协会",
        "phone": "13812345678",
        "email": "office@example.org",
        "consent": True,
    }
    data.update(overrides)
    return data


def submit(api, consultation, data, **extra):
    return api.post(
        f"/api/consultations/{consultation.slug}/comments/", data, format="json", **extra
    )


def test_list_names_each_consultation(api, weifang_open):
    response = api.get("/api/consultations/")
    assert response.status_code == 200
    [row] = response.json()
    assert row["slug"] == weifang_open.slug
    assert row["is_open"] is True
    assert row["issuer"] == "潍坊市海洋发展和渔业局"


def test_detail_has_the_clause_tree_with_departments_and_counts(api, weifang_open, item):
    submit(api, weifang_open, payload(item))
    response = api.get(f"/api/consultations/{weifang_open.slug}/")
    assert response.status_code == 200
    data = response.json()
    for key in ("slug", "title", "issuer", "opens_at", "closes_at", "is_open", "clauses"):
        assert key in data
    tasks = next(c for c in data["clauses"] if c["number"] == "二")
    group = next(c for c in tasks["children"] if c["number"] == "(一)")
    first = group["children"][0]
    assert first["id"] == item.pk
    assert first["lead"] == ["市发改委"]
    assert first["cooperating"][:2] == ["市科技局", "市工信局"]
    assert first["comment_count"] == 1
    assert set(first) >= {"id", "number", "heading", "lead", "cooperating", "comment_count"}
    assert first["children"] == []


def test_unknown_consultation_is_404_json(api, db):
    response = api.get("/api/consultations/nope/")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_a_valid_comment_is_201_with_its_tracking_number_and_routes(
    api, weifang_open, item, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = submit(api, weifang_open, payload(item))
    assert response.status_code == 201, response.json()
    data = response.json()
    comment = Comment.objects.get()
    assert data["tracking_number"] == comment.tracking_number
    assert comment.channel == "api"
    assert comment.submitter_kind == "organisation"
    assert data["routed_to"][0] == {"department": "市发改委", "role": "lead"}
    assert {"department": "市卫健委", "role": "cooperating"} in data["routed_to"]
    # The organisation's email receipt went through the outbox.
    assert [m.to for m in mail.outbox] == [["office@example.org"]]


def test_whole_draft_with_a_null_clause(api, weifang_open):
    response = submit(api, weifang_open, payload(None))
    assert response.status_code == 201
    assert response.json()["routed_to"] == [{"department": "市海渔局", "role": "coordinator"}]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "字" * 5001}, "body"),
        ({"body": "有空字符\x00的意见内容很长"}, "body"),
        ({"phone": "12345"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"consent": False}, "consent"),
        ({"kind": "alien"}, "kind"),
        ({"kind": "company", "organisation": ""}, "organisation"),
        ({"body": 42}, "body"),
        ({"consent": "yes"}, "consent"),
        ({"clause": "二(一)1"}, "clause"),
        ({"clause": 10**9}, "clause"),
    ],
)
def test_invalid_input_is_400_naming_the_field(api, weifang_open, item, overrides, field):
    response = submit(api, weifang_open, payload(item, **overrides))
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(message, str) and message for message in errors[field])
    assert not Comment.objects.exists()


def test_a_clause_of_another_consultation_is_refused(api, weifang_open, item):
    from tests.conftest import load_weifang

    other = load_weifang(slug="weifang-copy", departments=False)
    response = submit(api, other, payload(item))
    assert response.status_code == 400
    assert "clause" in response.json()


def test_a_body_that_is_not_an_object_is_400(api, weifang_open):
    response = api.post(f"/api/consultations/{weifang_open.slug}/comments/", [1, 2], format="json")
    assert response.status_code == 400
    response = api.post(
        f"/api/consultations/{weifang_open.slug}/comments/",
        "{not json",
        content_type="application/json",
    )
    assert response.status_code == 400


def test_outside_the_period_is_409(api, weifang_open, item):
    moment = weifang_open.closes_at + datetime.timedelta(seconds=1)
    with time_machine.travel(moment, tick=False):
        response = submit(api, weifang_open, payload(item))
    assert response.status_code == 409
    assert "closes_at" in response.json()
    with time_machine.travel(weifang_open.closes_at, tick=False):
        assert submit(api, weifang_open, payload(item)).status_code == 201


def test_a_retry_with_the_same_idempotency_key_returns_the_first_receipt(api, weifang_open, item):
    key = {"HTTP_IDEMPOTENCY_KEY": "3b0e8a52-6a55-4c1e-9f3e-5d2f0c8b7a61"}
    first = submit(api, weifang_open, payload(item), **key)
    second = submit(api, weifang_open, payload(item), **key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["tracking_number"] == first.json()["tracking_number"]
    assert second.json()["repeat"] is True
    assert Comment.objects.count() == 1
    # Without the key, the same comment is stored again (see test_repeats.py).
    assert submit(api, weifang_open, payload(item)).status_code == 201
    assert Comment.objects.count() == 2


def test_throttled_with_429(api, weifang_open, item, settings, one_window):
    settings.COMMENT_RATE_LIMITS_PER_IP = ["2/m"]
    for n in range(2):
        assert submit(api, weifang_open, payload(item, body=f"{BODY}{n}")).status_code == 201
    response = submit(api, weifang_open, payload(item, body=f"{BODY}third"))
    assert response.status_code == 429
    assert "detail" in response.json()
    assert Comment.objects.count() == 2


class TestStatus:
    @pytest.fixture
    def comment(self, api, weifang_open, item):
        number = submit(api, weifang_open, payload(item)).json()["tracking_number"]
        return Comment.objects.get(tracking_number=number)

    def test_by_phone_digits_and_by_email(self, api, comment):
        url = f"/api/comments/{comment.tracking_number}/status"
        for query in ({"phone_last4": "5678"}, {"email": "OFFICE@example.org"}):
            response = api.get(url, query)
            assert response.status_code == 200
            data = response.json()
            assert data["status"] == comment.status
            assert data["decision"] is None and data["reply"] is None

    def test_no_shared_cache_keeps_an_answer(self, api, comment):
        """A proxy caching by default must not serve one citizen's answer to another."""
        url = f"/api/comments/{comment.tracking_number}/status"
        answers = [
            api.get(url, {"phone_last4": "5678"}),
            api.post(
                "/api/comments/status/",
                {"tracking_number": comment.tracking_number, "proof": "5678"},
                format="json",
            ),
        ]
        for response in answers:
            assert response.status_code == 200
            assert "no-store" in response["Cache-Control"]
            assert "private" in response["Cache-Control"]

    def test_the_reply_is_shown_once_answered(self, api, comment):
        comment.reply = "感谢您的意见，已在修改稿中采纳。"
        comment.decision = "adopted"
        comment.status = "in_progress"  # a draft: not public yet
        comment.save()
        url = f"/api/comments/{comment.tracking_number}/status"
        data = api.get(url, {"phone_last4": "5678"}).json()
        assert data["decision"] is None and data["reply"] is None
        comment.status = "answered"
        comment.save()
        data = api.get(url, {"phone_last4": "5678"}).json()
        assert data["decision"] == "adopted"
        assert data["reply"] == "感谢您的意见，已在修改稿中采纳。"

    def test_the_reason_for_the_decision_is_shown_once_answered(self, api, comment):
        """The status page shows it; the API left it out."""
        comment.decision = "not_adopted"
        comment.decision_reason = "近海养殖是群众重要生计来源，不宜一律取消。"
        comment.reply = "感谢您的意见。"
        comment.status = "in_progress"
        comment.save()
        url = f"/api/comments/{comment.tracking_number}/status"
        assert api.get(url, {"phone_last4": "5678"}).json()["decision_reason"] is None
        comment.status = "answered"
        comment.save()
        data = api.get(url, {"phone_last4": "5678"}).json()
        assert data["decision_reason"] == "近海养殖是群众重要生计来源，不宜一律取消。"

    def test_a_wrong_proof_answers_exactly_like_an_unknown_number(self, api, comment):
        wrong = api.get(f"/api/comments/{comment.tracking_number}/status", {"phone_last4": "0000"})
        unknown = api.get("/api/comments/ABCDEFGH/status", {"phone_last4": "5678"})
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json() == unknown.json()
        # No proof at all is the client's mistake, named: it tells nobody whether the number
        # exists (an unknown number without a proof answers the same).
        missing = api.get(f"/api/comments/{comment.tracking_number}/status")
        unknown_missing = api.get("/api/comments/ABCDEFGH/status")
        assert missing.status_code == unknown_missing.status_code == 400
        assert missing.json() == unknown_missing.json()
        assert set(missing.json()) == {"phone_last4", "email"}

    @pytest.mark.parametrize("digits", ["", "567", "56789", "５６７", "12a4"])
    def test_phone_digits_that_are_not_four_digits_are_named_even_beside_an_email(
        self, api, comment, digits
    ):
        # Found by schemathesis: an empty phone_last4 was ignored and the email answered.
        url = f"/api/comments/{comment.tracking_number}/status"
        response = api.get(url, {"phone_last4": digits, "email": "office@example.org"})
        assert response.status_code == 400
        assert list(response.json()) == ["phone_last4"]

    def test_the_post_form_keeps_the_proof_out_of_the_url(self, api, comment):
        response = api.post(
            "/api/comments/status/",
            {"tracking_number": comment.tracking_number.lower(), "proof": "5678"},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["tracking_number"] == comment.tracking_number

    def test_lookups_are_rate_limited(self, api, comment, settings, one_window):
        settings.STATUS_LOOKUP_RATE_LIMITS = ["3/m"]
        url = f"/api/comments/{comment.tracking_number}/status"
        codes = [api.get(url, {"phone_last4": "0000"}).status_code for _ in range(3)]
        assert codes == [404, 404, 404]
        # Even the right proof is refused once the limit is reached.
        assert api.get(url, {"phone_last4": "5678"}).status_code == 429


def test_schema_and_docs_are_served(api, db):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/consultations/{slug}/comments/" in paths
    assert "/api/comments/{tracking_number}/status" in paths
    docs = api.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


# Unknown paths, body size and the declared limits ---------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/consultations/not.a.slug/",  # no route takes it: Django's 404, not DRF's
        "/api/consultations/不存在/",
        "/api/comments/ABC/DEF/status",
        "/api/nothing-here/",
    ],
)
def test_an_api_path_that_matches_no_route_is_a_json_404(api, db, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_pages_outside_the_api_keep_the_html_404(client, db):
    response = client.get("/consultations/not.a.slug/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_body_over_the_size_cap_is_a_413_before_it_is_read(api, weifang_open, monkeypatch):
    from consult.intake import api as api_module

    def no_parsing(*args, **kwargs):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(api_module, "json_depth", no_parsing)
    huge = b"[" + b"[]," * (10 * 1024 * 1024 // 3) + b"[]]"  # 10 MB of empty arrays
    for url in (f"/api/consultations/{weifang_open.slug}/comments/", "/api/comments/status/"):
        response = api.post(url, data=huge, content_type="application/json")
        assert response.status_code == 413
        assert response["Content-Type"] == "application/json"
        assert str(api_module.MAX_JSON_BODY_BYTES) in response.json()["detail"]
    assert not Comment.objects.exists()


def test_a_chunked_body_without_a_length_is_a_411_not_missing_fields(api, weifang_open):
    """WSGI gives Django no length for a chunked body, which it reads as empty: the answer
    was "请填写意见内容" for a body that held it (found by a review)."""
    body = json.dumps({"body": "建议明确集聚区的评价指标并公开评选结果。", "consent": True})
    for url in (f"/api/consultations/{weifang_open.slug}/comments/", "/api/comments/status/"):
        response = api.post(
            url,
            data=body,
            content_type="application/json",
            headers={"transfer-encoding": "chunked"},
            CONTENT_LENGTH="",
        )
        assert response.status_code == 411
        assert "Content-Length" in response.json()["detail"]
    assert not Comment.objects.exists()


def test_the_size_cap_holds_without_a_content_length(rf):
    """A chunked body has no Content-Length: the parser still reads at most one byte past it."""
    import io

    from consult.intake.api import MAX_JSON_BODY_BYTES, BoundedJSONParser, RequestBodyTooLarge

    class Counting(io.BytesIO):
        read_sizes = []

        def read(self, size=-1):
            self.read_sizes.append(size)
            return super().read(size)

    stream = Counting(b"[]" * MAX_JSON_BODY_BYTES)
    with pytest.raises(RequestBodyTooLarge):
        BoundedJSONParser().parse(stream, "application/json", {"request": rf.post("/")})
    assert stream.read_sizes == [MAX_JSON_BODY_BYTES + 1]


def test_the_largest_valid_submission_fits_under_the_size_cap(api, weifang_open, item):
    import json

    from consult.intake.api import MAX_JSON_BODY_BYTES

    emoji = "\U0001f600"  # sent as a \\ud83d\\ude00 pair: twelve bytes a character
    data = payload(
        item,
        body=emoji * 5000,
        name=emoji * 100,
        organisation=emoji * 200,
        email="a" * 64 + "@" + "b" * 180 + ".org",
    )
    text = json.dumps(data, ensure_ascii=True)
    assert len(text) < MAX_JSON_BODY_BYTES
    response = api.post(
        f"/api/consultations/{weifang_open.slug}/comments/",
        data=text.encode(),
        content_type="application/json",
    )
    assert response.status_code != 413


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"body": " " * 10 + "字" * 4995}, "body"),  # 5005 as sent, though 4995 once trimmed
        ({"name": "张" * 101}, "name"),
        ({"organisation": "会" * 201}, "organisation"),
        ({"phone": "1" * 41}, "phone"),
        ({"email": " " + "a" * 250 + "@b.cn"}, "email"),
        ({"clause": 2**63}, "clause"),
        ({"clause": 0}, "clause"),
    ],
)
def test_the_declared_limits_hold_on_the_text_as_sent(api, weifang_open, item, overrides, field):
    response = submit(api, weifang_open, payload(item, **overrides))
    assert response.status_code == 400
    assert field in response.json()
    assert not Comment.objects.exists()


def test_an_idempotency_key_over_its_declared_length_is_a_400(api, weifang_open, item):
    response = submit(api, weifang_open, payload(item), HTTP_IDEMPOTENCY_KEY="k" * 201)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Comment.objects.exists()


def test_status_lookup_values_over_their_declared_length_are_a_400(api, db):
    response = api.post(
        "/api/comments/status/", {"tracking_number": "A" * 21, "proof": "5678"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"tracking_number"}


def test_the_schema_declares_the_limits_and_every_error_response(api, db):
    from consult.intake.api import MAX_LENGTHS

    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    submission = schema["components"]["schemas"]["CommentSubmission"]["properties"]
    assert submission["body"]["maxLength"] == 5000
    assert submission["body"]["minLength"] == 10
    for name in ("name", "organisation", "phone"):
        assert submission[name]["maxLength"] == MAX_LENGTHS[name]
    lookup = schema["components"]["schemas"]["StatusLookup"]["properties"]
    assert lookup["tracking_number"]["maxLength"] == 20
    paths = schema["paths"]
    expected = {
        ("/api/consultations/{slug}/", "get"): {"200", "404"},
        ("/api/consultations/{slug}/comments/", "post"): {
            "200",
            "201",
            "400",
            "404",
            "409",
            "411",
            "413",
            "415",
            "429",
        },
        ("/api/comments/{tracking_number}/status", "get"): {"200", "400", "404", "429"},
        ("/api/comments/status/", "post"): {"200", "400", "404", "411", "413", "415", "429"},
    }
    for (path, method), codes in expected.items():
        codes = codes | {"503"}  # a surge's answer, on every operation (load shedding)
        responses = paths[path][method]["responses"]
        assert set(responses) == codes, (path, method)
        for code in codes:
            assert "application/json" in responses[code]["content"], (path, method, code)


def test_an_error_inside_the_api_is_a_json_500(db, monkeypatch):
    from consult.intake import api as api_module

    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(api_module, "comment_lookup", broken)
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/comments/7HK3MP9QXA/status", {"phone_last4": "5678"})
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.django_db
def test_a_browser_asking_for_html_gets_json_not_drfs_pages(client, weifang_open):
    """The browsable API's HTML (DRF's own English pages and forms) is no part of the site."""
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/api/consultations/", HTTP_ACCEPT=browser)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert client.get("/api/consultations/", {"format": "api"}).status_code == 404


# What an integrator reads in the documentation holds ----------------------------------------


def test_moments_are_to_the_second_like_the_period_s_ends(api, weifang_open, item):
    """The receipt said 2026-12-05T12:47:23.122148+08:00 beside a period given to the second."""
    receipt = submit(api, weifang_open, payload(item)).json()
    moment = datetime.datetime.fromisoformat(receipt["submitted_at"])
    assert moment.microsecond == 0 and receipt["submitted_at"].endswith("+08:00")
    stored = Comment.objects.get(tracking_number=receipt["tracking_number"]).submitted_at
    assert moment == stored.replace(microsecond=0)


def test_the_documented_gets_answer_head(api, weifang_open):
    for url in (
        "/api/consultations/",
        f"/api/consultations/{weifang_open.slug}/",
        f"/api/consultations/{weifang_open.slug}/published-comments/",
    ):
        head = api.head(url)  # first: a GET before it would be answered from the page cache
        assert head.status_code == 200, url
        got = api.get(url)
        assert head["Content-Type"] == got["Content-Type"]


def test_a_consultation_says_when_a_name_is_required(api, weifang_open, item):
    detail = api.get(f"/api/consultations/{weifang_open.slug}/").json()
    assert detail["real_names_required"] is False
    weifang_open.real_names_required = True
    weifang_open.save(update_fields=["real_names_required"])
    [row] = api.get("/api/consultations/").json()
    assert row["real_names_required"] is True
    refused = submit(api, weifang_open, payload(item, name=None))
    assert refused.status_code == 400 and set(refused.json()) == {"name"}


def test_a_comment_posted_without_the_trailing_slash_is_redirected_with_its_body(
    api, weifang_open, item
):
    """A 301 was followed as a GET (405): the comment was lost, and nothing said so."""
    url = f"/api/consultations/{weifang_open.slug}/comments"
    redirected = api.post(url, payload(item), format="json")
    assert redirected.status_code == 308 and redirected["Location"] == url + "/"
    followed = api.post(url, payload(item), format="json", follow=True)
    assert followed.status_code == 201
    assert Comment.objects.filter(tracking_number=followed.json()["tracking_number"]).exists()
    # A GET is redirected as Django always has.
    assert api.get(f"/api/consultations/{weifang_open.slug}").status_code == 301
    # A host the site does not serve is refused before any redirect, as Django's own does.
    refused = api.post(url, payload(item), format="json", HTTP_HOST="evil.example")
    assert refused.status_code == 400


def test_the_schema_lists_every_code_a_client_branches_on(client):
    """Statuses, decisions and roles were plain strings, and `children` an untyped object: a
    generated client had to guess the codes and could not type the clause tree."""
    import yaml

    schemas = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    assert schemas["ConsultationStatusEnum"]["enum"] == [
        "upcoming",
        "open",
        "closed",
        "report_published",
    ]
    assert schemas["CommentStatusEnum"]["enum"] == ["pending", "in_progress", "answered", "invalid"]
    assert set(schemas["DecisionEnum"]["enum"]) >= {"adopted", "partly_adopted", "not_adopted"}
    assert schemas["Route"]["properties"]["role"] == {"$ref": "#/components/schemas/RoleEnum"}
    assert schemas["Clause"]["properties"]["children"]["items"] == {
        "$ref": "#/components/schemas/Clause"
    }


def test_a_user_agent_with_control_characters_is_stored_without_them(api, weifang_open, item):
    """PostgreSQL refuses a NUL in text: a client sending one in its User-Agent (through a
    server that passes it on, which gunicorn does not) got a 500 and its comment was lost."""
    response = submit(api, weifang_open, payload(item), HTTP_USER_AGENT="Mozilla/5.0\x00\x1b (X11)")
    assert response.status_code == 201
    stored = Comment.objects.get(tracking_number=response.json()["tracking_number"])
    assert stored.user_agent == "Mozilla/5.0 (X11)"


@pytest.mark.parametrize("invisible", ["\u200b", "\u3164", "\u2800", "\u00ad"])
def test_a_name_or_organisation_of_invisible_characters_alone_is_none(
    api, weifang_open, item, invisible
):
    """A zero-width space (or a Hangul filler, a blank Braille cell, a soft hyphen) passed as
    the name a consultation requires, and as the organisation a company must give."""
    weifang_open.real_names_required = True
    weifang_open.save(update_fields=["real_names_required"])
    refused = submit(api, weifang_open, payload(item, name=invisible))
    assert refused.status_code == 400 and set(refused.json()) == {"name"}
    refused = submit(api, weifang_open, payload(item, kind="company", organisation=invisible))
    assert refused.status_code == 400 and set(refused.json()) == {"organisation"}
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "email", ["office@ｅｘａｍｐｌｅ.org", "office@example．org", "ｏｆｆｉｃｅ@example.org"]
)
def test_a_comment_is_found_by_the_email_typed_in_full_width(api, weifang_open, item, email):
    """A Chinese input method types "ｅｘａｍｐｌｅ": the address was stored as typed, and the
    lookup, which reads the proof plain, never found the comment by the address given."""
    stored = submit(api, weifang_open, payload(item, email=email))
    assert stored.status_code == 201
    assert Comment.objects.get().email == "office@example.org"
    for proof in (email, "office@example.org"):
        found = api.post(
            "/api/comments/status/",
            {"tracking_number": stored.json()["tracking_number"], "proof": proof},
            format="json",
        )
        assert found.status_code == 200, proof
    # Stored as typed by an earlier release: found all the same.
    Comment.objects.update(email=email)
    found = api.post(
        "/api/comments/status/",
        {"tracking_number": stored.json()["tracking_number"], "proof": email},
        format="json",
    )
    assert found.status_code == 200
