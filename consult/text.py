"""Characters that are never text: the one rule for what a citizen submits
(`comments.validation.clean_text`) and for what staff type into the admin, and what the XML
outputs (the Word file, the feeds) leave out of text stored before either refused it."""

import re

from django.utils.translation import gettext_lazy as _

# Unicode's control characters (general category Cc, which its stability policy fixes at
# U+0000–U+001F and U+007F–U+009F) but line breaks and tabs, which belong to ordinary text.
# One regular expression, not a Python call per character: every comment's text goes through.
FORBIDDEN_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


# Unicode's noncharacters (U+FDD0–U+FDEF and the last two code points of every plane): never
# text, and U+FFFE and U+FFFF cannot be written into XML at all, so a spreadsheet export that
# held one would fail whole.
NONCHARACTERS = re.compile(
    "[\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
    + "]"
)

# What shows nothing on the page: the characters that only steer how text is shown
# (Unicode's format characters, general category Cf: zero-width spaces and joiners,
# bidirectional controls, the byte order mark, tags), with the fillers and variation
# selectors that draw nothing either. Counting a comment's length leaves them out
# (comments.validation); masking reads a number split by them as the one it looks like
# (comments.privacy).
INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF9, 0xFFFB),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
INVISIBLE = re.compile(
    "[" + "".join(f"{chr(first)}-{chr(last)}" for first, last in INVISIBLE_RANGES) + "]"
)

# Chinese characters, the basic block and its extensions, as the inside of a character class
# ("[" + CHINESE_CHARACTERS + "]"): names in a report, the language a citizen wrote in.
CHINESE_CHARACTERS = "\u3400-\u9fff\U00020000-\U0003134f"

CONTROL_CHARACTER_MESSAGE = _("内容含有不可见的控制字符，请删除后重新提交。")


def has_invisible_characters(value: str) -> bool:
    return bool(FORBIDDEN_CONTROLS.search(value) or NONCHARACTERS.search(value))


# Characters XML 1.0 cannot hold (python-docx refuses them with a ValueError, Django's feed
# writer with an error): control characters a notice pasted from a PDF may carry.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """The text without what XML cannot hold: for the Word file and the feeds, which show
    stored text that may predate the admin's refusal (or came from an import)."""
    return _NOT_XML.sub("", text or "")
