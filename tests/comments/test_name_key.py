"""A name's lookup key, in Python (`name_key`) and in SQL (`NameKey`): the adoption report's
check looks commenters' names up in the database by the key of what the report writes, so the
two must agree on every character they fold."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consult.comments.privacy import NAME_JOINERS, NameKey, name_key, name_key_table


def sql_name_key(name: str) -> str:
    # Any table with a row: the key is computed on a value, not on the row.
    return (
        ContentType.objects.annotate(key=NameKey(Value(name, output_field=CharField())))
        .values_list("key", flat=True)
        .first()
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("John Smith", "johnsmith"),
        ("JOHN\u3000SMITH", "johnsmith"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "johnsmith"),  # full width
        ("José García", "josegarcia"),
        ("Nguyễn Văn Ân", "nguyenvanan"),
        ("İlker", "ilker"),  # lowered after its dot is left off: one letter, not two
        ("阿依古丽·买买提", "阿依古丽买买提"),
        ("王\u200b五", "王五"),  # a character without width
        ("", ""),
    ],
)
def test_the_key_folds_case_width_accents_and_joiners_in_python_and_sql(db, name, key):
    assert name_key(name) == key
    assert sql_name_key(name) == key


# Every character the key changes, and some it keeps: letters of other scripts, Chinese.
_ALPHABET = sorted(
    {chr(code) for code in name_key_table()}
    | {chr(target) for target in name_key_table().values() if target is not None}
    | set("abcXYZ王五阿依古丽ЖукΔέλτα")
    | set(NAME_JOINERS)
)


# The database is only read: one `db` for every example is what is meant.
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet=_ALPHABET, max_size=12))
def test_sql_and_python_agree_on_any_name(db, name):
    assert sql_name_key(name) == name_key(name)
