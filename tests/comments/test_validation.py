"""The text rules every submission goes through (consult.comments.validation)."""

import sys
import unicodedata

import pytest
from django.core.exceptions import ValidationError

from consult.comments.validation import clean_text


def test_exactly_control_characters_but_line_breaks_and_tabs_and_noncharacters_are_refused():
    """Noncharacters: U+FDD0–U+FDEF and the last two code points of each plane (U+FFFE and
    U+FFFF among them, which an XLSX export cannot hold)."""
    # Over every code point but surrogates (refused on their own, as unencodable).
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        noncharacter = 0xFDD0 <= code <= 0xFDEF or code % 0x10000 in (0xFFFE, 0xFFFF)
        forbidden = noncharacter or (unicodedata.category(char) == "Cc" and char not in "\n\r\t")
        text = f"意见{char}内容"
        if forbidden:
            with pytest.raises(ValidationError) as refused:
                clean_text(text, field="body")
            assert refused.value.code == "control_character", hex(code)
        else:
            assert clean_text(text, field="body") == text.strip(), hex(code)
