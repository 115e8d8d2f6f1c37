"""Comments' phone numbers in the one canonical form (E.164, CN by default): see phones.py.

The rule is copied here as it stood, so that this migration keeps doing what it did when
phones.py changes. A number that is not a valid one is left as it was.
"""

import re

import phonenumbers
from django.db import migrations

_EXTENSION = re.compile(r"^(?P<number>.+?)(?:-|转|;ext=|ext\.?|x)(?P<extension>\d{1,6})$", re.I)
_MOBILE = re.compile(r"^(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})$")


def _parse(text):
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return number
    if _MOBILE.match(text) and phonenumbers.is_possible_number(number):
        return number
    return None


def canonical(value):
    compact = re.sub(r"[\s()（）]", "", value or "").replace("－", "-").replace("—", "-")
    if not compact:
        return ""
    number = _parse(compact)
    if number is None and (match := _EXTENSION.match(compact)):
        number = _parse(match["number"])
        if (
            number is not None
            and number.country_code == 86
            and phonenumbers.length_of_geographical_area_code(number)
        ):
            number.extension = match["extension"]
        else:
            number = None
    if number is None:
        return ""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164


def phones_canonical(apps, schema_editor):
    Comment = apps.get_model("comments", "Comment")
    changed = []
    for comment in Comment.objects.exclude(phone="").only("pk", "phone").iterator(2000):
        value = canonical(comment.phone)
        if value and value != comment.phone:
            comment.phone = value
            changed.append(comment)
        if len(changed) >= 1000:
            Comment.objects.bulk_update(changed, ["phone"])
            changed = []
    Comment.objects.bulk_update(changed, ["phone"])


class Migration(migrations.Migration):
    dependencies = [("comments", "0010_comment_tally")]

    operations = [migrations.RunPython(phones_canonical, migrations.RunPython.noop, elidable=True)]
