"""Rules for what a citizen may submit, shared by the web form, the API and the admin."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consult.text import CONTROL_CHARACTER_MESSAGE, INVISIBLE, has_invisible_characters

from .directory import directory_of
from .phones import phone_canonical

BODY_MIN_LENGTH = 10
BODY_MAX_LENGTH = 5000


# Only surrogate code points (U+D800 to U+DFFF) make a Python string unencodable as UTF-8;
# json.loads joins a well-formed pair into one character, so the ones left are lone.
_SURROGATES = re.compile("[\ud800-\udfff]")


def is_storable(value: str) -> bool:
    """Whether the text can be encoded as UTF-8, and so stored and shown.

    A lone surrogate ("\\ud800") passes json.loads and Django's form fields; PostgreSQL then
    refuses it with UnicodeEncodeError (SQLite stores it), and a page showing it cannot be sent.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refuse_unstorable(value) -> None:
    """Refuse text that cannot be encoded as UTF-8; every text a citizen submits is checked."""
    if isinstance(value, str) and not is_storable(value):
        raise ValidationError(
            _("内容含有无法识别的无效字符，请删除后重新提交。"), code="invalid_character"
        )


def displayable(value: str) -> str:
    """The text with each unencodable character replaced by U+FFFD: for showing input back."""
    return _SURROGATES.sub("\ufffd", value)


def clean_text(value: str, *, field: str, required: bool = False, max_length=None) -> str:
    """Refuse unencodable text, NUL and other control characters; trim the ends, keep the rest."""
    value = value or ""
    refuse_unstorable(value)
    if has_invisible_characters(value):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_character")
    value = value.strip()
    if not visible_length(value):
        # A zero-width space or a Hangul filler alone is no name: blank, as it looks.
        value = ""
    if required and not value:
        raise ValidationError(_("此项为必填项。"), code="required")
    if max_length and len(value) > max_length:
        raise ValidationError(
            _("最多 %(limit)d 个字符（现有 %(count)d 个）。")
            % {"limit": max_length, "count": len(value)},
            code="max_length",
        )
    return value


def visible_length(text: str) -> int:
    """How many characters of the text show on the page: without `consult.text.INVISIBLE`
    (none of it counts towards the shortest comment; spaces between words do, as they always
    did: "Good idea." is ten characters), and without the spaces those left at either end."""
    return len(INVISIBLE.sub("", text).strip())


def clean_body(value: str) -> str:
    """10 to 5,000 characters after trimming, of which at least 10 visible: zero-width spaces
    and bidirectional controls make no comment. Line breaks, emoji and rare characters
    kept."""
    body = clean_text(value, field="body")
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    visible = visible_length(body)
    if not visible:
        raise ValidationError(_("请填写意见内容。"), code="required")
    if visible < BODY_MIN_LENGTH:
        words = (
            _("意见内容至少 %(limit)d 个字（现有 %(count)d 个）。")
            if visible == len(body)
            else _("意见内容至少 %(limit)d 个字（现有 %(count)d 个，不可见字符不计）。")
        )
        raise ValidationError(
            words % {"limit": BODY_MIN_LENGTH, "count": visible}, code="min_length"
        )
    if len(body) > BODY_MAX_LENGTH:
        raise ValidationError(
            _("意见内容最多 %(limit)d 个字（现有 %(count)d 个）。")
            % {"limit": BODY_MAX_LENGTH, "count": len(body)},
            code="max_length",
        )
    return body


PHONE_MAX_LENGTH = 30  # Comment.phone's column: the canonical form
# As typed, with its spaces, dashes and "ext.": the form, the API and its schema say the same.
PHONE_TYPED_MAX_LENGTH = 40


def clean_phone(value: str) -> str:
    """A valid number in any spelling, returned in its canonical form (+8613812345678)."""
    phone = clean_text(value, field="phone", max_length=PHONE_TYPED_MAX_LENGTH)
    if not phone:
        return ""
    canonical = phone_canonical(phone)
    # The canonical form can be longer than what was typed ("ext123" becomes ";ext=123"), and
    # must still fit the column: PostgreSQL would refuse the row with an error, not a message.
    if not canonical or len(canonical) > PHONE_MAX_LENGTH:
        raise ValidationError(
            _("请填写有效的手机号（如 13812345678）或带区号的固定电话（如 0536-8888888）。"),
            code="invalid_phone",
        )
    return canonical


WRONG_CLAUSE = gettext_lazy("该条款不属于本次征求意见。")


def clause_check(consultation, clause) -> None:
    """A comment's clause is one of its consultation's own (None: the whole text)."""
    if clause is not None and clause.consultation_id != consultation.pk:
        raise ValidationError(WRONG_CLAUSE, code="wrong_clause")


NOT_CONSULTED_CLAUSE = gettext_lazy(
    "该条款不在正在征求意见（或最后征求意见）的文本中：请选择该文本的条款，或对全文登记。"
)


def clause_open_check(consultation, clause) -> None:
    """A new comment's clause is one of the draft consulted on (directory.clauses): not an
    earlier draft's, nor a final text's, which no report counts."""
    clause_check(consultation, clause)
    if clause is not None and clause.pk not in directory_of(consultation).clauses:
        raise ValidationError(NOT_CONSULTED_CLAUSE, code="clause_not_consulted")


def clause_by_id(consultation, clause_id):
    """The consultation's clause with this id (None: the whole text); any other id is refused."""
    if clause_id is None:
        return None
    # From the consultation's directory, which the comment's routing reads anyway.
    clause = directory_of(consultation).clauses.get(clause_id)
    if clause is None:
        raise ValidationError(WRONG_CLAUSE, code="wrong_clause")
    return clause
