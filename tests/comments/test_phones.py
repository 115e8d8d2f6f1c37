"""One canonical form per phone number (E.164, Chinese by default), whatever the spelling typed.

Before, "+8613500000001", "8613500000001" and "+86-135-0000-0001" were three different stored
values: three rate-limit budgets, no repeat match between them, and a search that found only
the spelling typed.
"""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from consult.comments.models import Comment
from consult.comments.phones import (
    _canonical_of,
    phone_canonical,
    phone_display,
    phone_format,
    phone_parse,
    phone_spellings,
)
from consult.comments.privacy import mask_phone, phone_last_digits
from consult.comments.services import comment_submit
from consult.comments.validation import clean_phone

SPELLINGS_OF_ONE_MOBILE = [
    "+8613500000001",
    "8613500000001",
    "+86-135-0000-0001",
    "+86 135 0000 0001",
    "13500000001",
    "135-0000-0001",
    "135 0000 0001",
    "(+86) 135 0000 0001",
    "0086 13500000001",
    "１３５０００００００１",  # full-width digits, as a Chinese input method types them
]


@pytest.mark.parametrize("spelling", SPELLINGS_OF_ONE_MOBILE)
def test_every_spelling_of_a_mobile_has_one_canonical_form(spelling):
    assert phone_canonical(spelling) == "+8613500000001"
    assert clean_phone(spelling) == "+8613500000001"


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("0536-8123688", "+865368123688"),
        ("（0536）812 3688", "+865368123688"),
        ("+86 536 8123688", "+865368123688"),
        ("010-12345678", "+861012345678"),
        ("0536-8123688-12", "+865368123688;ext=12"),
        ("0536-8123688转12", "+865368123688;ext=12"),
        ("010-12345678-21", "+861012345678;ext=21"),
        ("+1 650 253 0000", "+16502530000"),
    ],
)
def test_landlines_and_foreign_numbers_are_canonical_too(spelling, canonical):
    assert clean_phone(spelling) == canonical
    assert phone_canonical(canonical) == canonical
    # Read afresh, not from what phone_canonical remembers (which counts on this).
    assert _canonical_of(canonical) == canonical


@pytest.mark.parametrize("spelling", [*SPELLINGS_OF_ONE_MOBILE, "0536-8123688转12", "12345"])
def test_a_spelling_remembered_reads_as_it_did_afresh(spelling):
    first = phone_canonical(spelling)
    assert first == _canonical_of(spelling)
    assert phone_canonical(spelling) == first
    assert _canonical_of(first) == first or first == ""


def slow_reading(spelling: str) -> str:
    number = phone_parse(spelling)
    return phone_format(number) if number is not None else ""


@pytest.mark.parametrize("prefix", ["", "+86", "86", "86 ", "+86-"])
def test_every_mobile_block_reads_without_phonenumbers_as_phonenumbers_reads_it(prefix):
    # Each block 1300-1999, with endings that matter to phonenumbers (179XX00Y is a call
    # abroad to it) and plain ones.
    for block in range(1300, 2000):
        for ending in ("0000000", "1001234", "2345678", "9999999"):
            spelling = f"{prefix}{block}{ending}"
            assert _canonical_of(spelling) == slow_reading(spelling), spelling


@given(
    prefix=st.sampled_from(["", "+86", "86", "+86-", "86 ", "+86 "]),
    digits=st.from_regex(r"1[0-9]{10}", fullmatch=True),
    separator=st.sampled_from(["", " "]),
)
@example(prefix="", digits="17912001234", separator="")
@example(prefix="86", digits="17999001234", separator="")
def test_a_mobile_read_without_phonenumbers_reads_as_phonenumbers_reads_it(
    prefix, digits, separator
):
    spelling = prefix + separator.join([digits[:3], digits[3:7], digits[7:]])
    assert _canonical_of(spelling) == slow_reading(spelling)


@pytest.mark.parametrize("value", ["12345", "13812345678-12", "1381234567", "0536-81", "电话"])
def test_what_is_not_a_phone_number_is_refused(value):
    with pytest.raises(ValidationError) as error:
        clean_phone(value)
    assert error.value.code == "invalid_phone"


@pytest.mark.parametrize(
    ("stored", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("13812345678", "138****5678"),
        ("+865368123688", "0536-****688"),
        ("+865368123688;ext=12", "0536-****688"),
        ("0536-8888688", "0536-****688"),
        ("+861012345678", "010-****678"),
        ("+16502530000", "****000"),
        ("", ""),
    ],
)
def test_masking_reads_the_canonical_form(stored, masked):
    assert mask_phone(stored) == masked


def test_the_last_four_digits_leave_the_extension_out():
    assert phone_last_digits("+865368123688;ext=12") == "3688"
    assert phone_last_digits("+8613812345678") == "5678"


def test_a_search_term_in_any_spelling_names_the_stored_form():
    assert "+8613812345678" in phone_spellings("138 1234 5678")
    assert "+8613812345678" in phone_spellings("+86-138-1234-5678")
    assert phone_spellings("  ") == set()


@pytest.mark.django_db
def test_the_api_stores_the_canonical_form_and_the_status_lookup_finds_it(weifang_open):
    response = APIClient().post(
        f"/api/consultations/{weifang_open.slug}/comments/",
        {"clause": None, "body": "建议明确集聚区的评价指标。", "phone": "+86 138-1234-5678",
         "consent": True},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    comment = Comment.objects.get(tracking_number=response.json()["tracking_number"])
    assert comment.phone == "+8613812345678"
    lookup = APIClient().get(
        f"/api/comments/{comment.tracking_number}/status", {"phone_last4": "5678"}
    )
    assert lookup.status_code == 200, lookup.content


@pytest.mark.django_db
def test_the_data_migration_makes_stored_phones_canonical(weifang_open):
    migration = importlib.import_module("consult.comments.migrations.0011_canonical_phones")
    stored = {
        "13812345678": "+8613812345678",
        "+86-135-0000-0001": "+8613500000001",
        "0536-8123688-12": "+865368123688;ext=12",
        "（0536）8123688": "+865368123688",
        "+8613900000001": "+8613900000001",
        "12345": "12345",  # not a number: left as it was
        "": "",
    }
    pks = {}
    for n, phone in enumerate(stored):
        comment = comment_submit(
            consultation=weifang_open,
            clause=None,
            body=f"第{n}条：建议明确集聚区的评价指标。",
            channel="web",
            consent=True,
            email=f"citizen{n}@example.cn",
        ).comment
        Comment.objects.filter(pk=comment.pk).update(phone=phone)
        pks[phone] = comment.pk
    migration.phones_canonical(apps, None)
    for phone, expected in stored.items():
        assert Comment.objects.get(pk=pks[phone]).phone == expected


@pytest.mark.django_db
def test_staff_who_see_contacts_find_a_comment_by_any_spelling(client, weifang_open):
    comment = comment_submit(
        consultation=weifang_open,
        clause=None,
        body="建议明确集聚区的评价指标并公开评选结果。",
        channel="web",
        consent=True,
        phone=clean_phone("13812345678"),
    ).comment
    client.force_login(User.objects.create_superuser("root", password="pw"))
    for typed in ("138 1234 5678", "+86-138-1234-5678", "13812345678"):
        page = client.get("/admin/comments/comment/", {"q": typed}).content.decode()
        assert comment.tracking_number in page, typed


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("138 1234 5678", "13812345678"),
        ("0536-812 3688-12", "0536-8123688转12"),
        ("010-12345678", "010-12345678"),
        ("+852 2123 4567", "+852 2123 4567"),
        ("", ""),
    ],
)
def test_a_stored_number_is_shown_as_staff_dial_it(typed, shown):
    assert phone_display(phone_canonical(typed)) == shown
