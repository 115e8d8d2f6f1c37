"""The web comment form under arbitrary input, posted through Django's test client.

Whatever is posted (any Unicode, lone surrogates, control characters, huge values, phone numbers
spelt every way, fields missing): never a 500; either one comment stored and a redirect to its
receipt, or the form shown again (400) with its errors and nothing stored.

Bounded (EXAMPLES) to a few seconds, as CI runs it every time.
"""

import os
import re

import hypothesis
import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from consult.comments.models import Comment
from tests.intake.test_bad_input import post_utf7
from tests.intake.test_form import BODY, form_url

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("CONSULT_FUZZ_EXAMPLES", "120"))
RECEIPT = re.compile(r"^/comments/[^/]+/receipt/(\?repeat=1)?$")

# Any character at all, lone surrogates and control characters included.
any_char = st.characters(codec=None, categories=None)
# Some characters, many times over: huge values without generating each character.
huge = st.builds(
    lambda text, times: text * times,
    st.text(any_char, min_size=1, max_size=3),
    st.integers(1000, 40000),
)
text = st.one_of(st.text(any_char, max_size=60), huge, st.text("字 \t\r\n-", max_size=20))
phones = st.one_of(
    st.sampled_from(
        [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "008613812345678",
            "86-138-1234-5678",
            "(0536)8888888",
            "0536-8888888",
            "0536 888 8888",
            "+86 536 888 8888",
            "０５３６－８８８８８８８",  # full-width, as some input methods type it
            "１３８１２３４５６７８",
            "138\u00a01234\u00a05678",
            "1381234567８",
            "0536—8888888",
            "8888888",
            "+",
            "",
        ]
    ),
    st.from_regex(r"\A[0-9０-９ +()\-－—.]{0,30}\Z"),
    text,
)
emails = st.one_of(st.emails(), st.sampled_from(["", "a@b", "@", "zhang@例子.中国"]), text)
kinds = st.one_of(st.sampled_from(["individual", "company", "organisation", "other"]), text)
consent = st.sampled_from(["on", "true", "1", "", "off"])
bodies = st.one_of(st.just(BODY), st.text(any_char, min_size=8, max_size=80), text)


def optional(strategy):
    """The field sent with a value from the strategy, or left out of the post altogether."""
    return st.one_of(st.none(), strategy)


FIELDS = {
    "body": bodies,
    "name": text,
    "kind": kinds,
    "organisation": text,
    "phone": phones,
    "email": emails,
    "consent": consent,
    "wants_reply": consent,
    "notify_on_report": consent,
    "website": st.one_of(st.just(""), text),
    "clause": st.one_of(st.integers(-(2**70), 2**70).map(str), text),
}
VALID = {
    "body": BODY,
    "name": "张三",
    "kind": "individual",
    "phone": "13812345678",
    "email": "zhang@example.cn",
    "consent": "on",
}

# Anything at all, each field present or not ...
anything = st.fixed_dictionaries({}, optional=FIELDS)
# ... or a valid comment with one or two fields changed or left out: the paths past validation.
nearly_valid = st.lists(
    st.sampled_from(sorted(FIELDS)).flatmap(
        lambda name: st.tuples(st.just(name), optional(FIELDS[name]))
    ),
    min_size=1,
    max_size=2,
).map(
    lambda changes: {
        name: value for name, value in {**VALID, **dict(changes)}.items() if value is not None
    }
)
submissions = st.one_of(anything, nearly_valid)


def storable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def post(client, url, data):
    if all(storable(value) for value in data.values()):
        return client.post(url, data)
    # A browser sends UTF-8, which cannot carry a lone surrogate; a multipart form in UTF-7 can.
    return post_utf7(client, url, data)


@pytest.fixture
def open_limits(settings):
    # Hundreds of posts a minute from one address: the real limits would answer most with a 429
    # (tests/intake/test_form.py checks they do), and the form would go untested.
    settings.COMMENT_RATE_LIMITS_PER_IP = ["100000/m"]
    settings.COMMENT_RATE_LIMITS_PER_CONTACT = ["100000/m"]
    return settings


@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=submissions, on_clause=st.booleans())
def test_any_post_stores_one_comment_or_shows_the_errors(
    open_limits, weifang_open, item, data, on_clause
):
    data = {key: value for key, value in data.items() if value is not None}
    before = Comment.objects.count()
    client = Client()  # a new browser each time: a repeat is only recognised within a session
    response = post(client, form_url(weifang_open, item if on_clause else None), data)

    stored = Comment.objects.count() - before
    hypothesis.event(f"answered {response.status_code}")  # see --hypothesis-show-statistics
    if response.status_code == 302:
        assert RECEIPT.match(response["Location"]), response["Location"]
        assert stored == (0 if response["Location"].endswith("?repeat=1") else 1)
        assert client.get(response["Location"]).status_code == 200
    else:
        assert response.status_code == 400, response.status_code
        assert response.context["form"].errors
        assert stored == 0
        response.content.decode("utf-8")  # the page shown back is sendable
