"""Masking personal data for everybody who does not need to see it in full."""

import functools
import re
import unicodedata

from consult.text import INVISIBLE, INVISIBLE_RANGES

from .phones import LANDLINE, MOBILE, area_code_length, phone_compact, phone_parse


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile, 0536-****688 for a landline; other forms keep the last 3.

    Reads any spelling: the canonical +8613812345678 as well as 138-1234-5678.
    """
    value = (phone or "").strip()
    if not value:
        return ""
    number = phone_parse(value)
    if number is not None and number.country_code == 86:
        national = str(number.national_number)
        if MOBILE.match(national):
            return f"{national[:3]}****{national[-4:]}"
        # The area code's length comes from the numbering plan (010, 0536), not a pattern.
        if area := area_code_length(number):
            return f"0{national[:area]}-****{national[-3:]}"
    compact = phone_compact(value)
    if match := MOBILE.match(compact):
        return f"{match[1]}****{match[3]}"
    if match := LANDLINE.match(compact):
        return f"{match[1]}-****{match[3]}"
    digits = re.sub(r"\D", "", compact)
    return f"****{digits[-3:]}" if len(digits) > 3 else "****"


def mask_email(email: str) -> str:
    """d***@example.cn: enough to recognise one's own address, not to harvest it."""
    local, at, domain = (email or "").partition("@")
    if not at:
        return "***" if email else ""
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """张*, 丁*楠, J*** Smith-like forms: the first character and, for longer names, the last."""
    value = (name or "").strip()
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def phone_last_digits(phone: str, count: int = 4) -> str:
    """The number's last digits, its extension left out (+865368123688;ext=12: 3688)."""
    number = phone_parse(phone)
    digits = str(number.national_number) if number is not None else phone or ""
    return re.sub(r"\D", "", digits)[-count:]


# Personal data in prose: the one set of patterns the public comment lists (masking, below) and
# the adoption report's check (reports.redaction) share.
PHONE = "phone"
EMAIL = "email"
ID_NUMBER = "id_number"
# A QQ number or a WeChat ID: how people in China are reached as often as by telephone.
IM_ACCOUNT = "im_account"
NAME = "name"

# Full-width ASCII (１３９, ＠, －) read as plain, one character for one so positions stay true.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
# Characters without width (consult.text.INVISIBLE) read as a space, one for one: a number split
# by them looks whole on screen, and reads as grouped.
_HALF_WIDTH |= {
    code: ord(" ") for first, last in INVISIBLE_RANGES for code in range(first, last + 1)
}
# Digits may be grouped by a dash or any one space: ASCII, no-break or full-width (U+3000).
# What people put between a number's groups: dashes of every width, spaces (two, as easily as
# one), dots, underscores, slashes, middle dots. Full-width forms are made plain first.
_GAP = r"(?:[-\s._/·\u2010-\u2015\u2212\u30fb]{1,3})"
# Candidates only; MOBILE and LANDLINE decide. 0086 is +86 as dialled from abroad; 86 alone
# is how some write it (and the phone field takes it).
# Or spelt out a digit at a time, a gap after each ("1 3 8 1 2 3 4 5 6 7 8").
_MOBILE_IN_TEXT = re.compile(
    rf"(?<![\d+])(?:(?:\+|00)?86{_GAP}?)?"
    rf"(?:1[3-9]\d{_GAP}?\d{{4}}{_GAP}?\d{{4}}|1(?:{_GAP}\d){{10}})(?!\d)"
)
# The local number in groups of 3-4 and 4, or 4 and 3 split by a space ("8888 888"), the
# 4 not a year: "0531-2024-001" is a document's number, not a telephone's. LANDLINE decides.
_LOCAL_GROUPS = rf"(?:\d{{3,4}}{_GAP}?\d{{4}}|(?!(?:19|20)\d\d)\d{{4}}\s\d{{3}})"
_LANDLINE_IN_TEXT = re.compile(
    rf"(?<![\d(（])(?:[(（](?P<bracketed>0\d{{2,3}})[)）]\s?|(?P<area>0\d{{2,3}}){_GAP}?)"
    rf"(?P<local>{_LOCAL_GROUPS})(?P<extension>-\d{{1,6}})?(?!\d)"
)
# A landline dialled from abroad: +86 or 0086, the area code without its 0 (perhaps as
# "(0)536"), or in brackets with or without it ("(536)", "(0536)"), as a letterhead gives it:
# "+86-536-8123688", "0086 10 8888 6666", "+86 (536) 8123688". Not 86 alone, which begins
# too many other runs of numbers ("86-10-2024-0001", a row of scores).
_INTERNATIONAL_LANDLINE_IN_TEXT = re.compile(
    rf"(?<![\d+])(?:\+|00)86{_GAP}?"
    rf"(?:[(（]0?(?P<bracketed>[1-9]\d{{1,2}})[)）]|(?:[(（]0[)）]\s?)?(?P<area>[1-9]\d{{1,2}}))"
    rf"{_GAP}?(?P<local>{_LOCAL_GROUPS})(?P<extension>-\d{{1,6}})?(?!\d)"
)
# A local number written without its area code, as neighbours give theirs ("电话8123688"):
# only right after a word saying it is one (not "smartphone"), its groups split by one dash or
# space at most, and not an amount or a span of years ("手机3000-6000元", "tel 2019-2023").
_LOCAL_NUMBER_IN_TEXT = re.compile(
    r"(?<![A-Za-z])(?:电话|座机|固话|手机|联系方式|tel|phone)\s*(?:号码|号)?\s*[:：]?\s*"
    r"(?P<local>(?<!\d)[2-9]\d{2,3}[- ]?\d{4})(?!\d|\.\d|\s*[元万亿千百年月日%％])",
    re.IGNORECASE,
)
_YEARS = re.compile(r"(?:19|20)\d\d[- ](?:19|20)\d\d")
# A QQ number (5 to 12 digits) or a WeChat ID (6 to 20 letters, digits, - and _, a letter
# first), only right after the word that says it is one: alone, they are any number or word.
# After "微信号", "WeChat ID" or a colon ("微信：zhangsan") any such ID; after "微信" or
# "WeChat" and a space only one with a digit or _ in it ("微信 zhang_san88"), not a word
# ("微信 iPhone 用户", "微信HarmonyOS4版本"). A QQ number is not a count ("QQ: 40001 条反馈").
_IM_ACCOUNTS_IN_TEXT = (
    re.compile(
        r"(?<![A-Za-z])QQ\s*(?:号码|号)?\s*[:：]?\s*(?P<account>[1-9]\d{4,11})"
        r"(?!\d|\s*[条个次万千百份件位名项篇封户家天年月日号%％])",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:微信|(?<![A-Za-z])(?:weixin|wechat|vx|wx))"
        r"(?:\s*(?:号码|号|ID)\s*[:：]?\s*|\s*[:：]\s*|\s+(?=[A-Za-z][-A-Za-z]*[_0-9]))"
        # Not a capitalised word ("WeChat: Please reply", "微信：Android版本"): an ID is not.
        r"(?-i:(?![A-Z][a-z]+(?![-_A-Za-z0-9])))"
        r"(?P<account>[A-Za-z][-_A-Za-z0-9]{5,19})(?![-_A-Za-z0-9])",
        re.IGNORECASE,
    ),
)
# The domain may be internationalised ("例子.中国", which the comment form accepts); the part
# before the @ is read in ASCII only, or it would take in the Chinese words written before it.
_EMAIL_IN_TEXT = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9\u4e00-\u9fff-]+(?:\.[A-Za-z0-9\u4e00-\u9fff-]+)*"
    r"\.(?:[A-Za-z]{2,}|[\u4e00-\u9fff]{2,})"
)
# A resident ID of 18 characters (region, birth date, sequence, check digit 0-9 or X) or the
# older 15 digits (two-digit year, no check digit), perhaps written in groups. A number that
# fails the checksum is still somebody's (mistyped) ID, so the checksum is not asked for.
_ID_NUMBER_IN_TEXT = re.compile(
    rf"(?<![0-9A-Za-z])[1-9](?:{_GAP}?\d){{14}}(?:(?:{_GAP}?\d){{2}}{_GAP}?[0-9Xx])?"
    r"(?![0-9A-Za-z])"
)
_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_NUMBER = re.compile(
    rf"^[1-9]\d{{5}}(?:(?:18|19|20)\d{{2}}{_DAY}\d{{3}}[0-9Xx]|\d{{2}}{_DAY}\d{{3}})$"
)


# What joins a name's parts, or is put between its characters: spaces of every kind (not a
# line break, which joins the end of one word to the start of the next: "提高\n峰值" is no 高峰),
# hyphens and middle dots of every form ("阿依古丽·买买提" is as often written with •, ・ or none).
NAME_JOINERS = (
    " ",
    "\t",
    "\u00a0",
    "\u1680",
    *(chr(code) for code in range(0x2000, 0x200B)),  # en, em, thin, hair... spaces
    "\u202f",
    "\u205f",
    "\u3000",
    "-",
    "\u00b7",
    "\u2010",
    "\u2011",
    "\u2022",
    "\u2027",
    "\u30fb",
    "\uff65",
)
_JOINERS = frozenset(NAME_JOINERS)
# Between the words of a Latin name a line break joins them too ("John\nSmith" wrapped by the
# writer); between Chinese characters it does not (see NAME_JOINERS).
LINE_BREAKS = "\n\r\v\f\x85\u2028\u2029"
_LINE_BREAKS = frozenset(LINE_BREAKS)
_LATIN_JOINERS = _JOINERS | _LINE_BREAKS


def _is_latin(char: str) -> bool:
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN")


# Apostrophes as names are written with them: "O'Brien" typed in a form is "O’Brien" in a
# report drafted in a word processor.
APOSTROPHES = "\u2018\u2019\u02bc"


@functools.cache
def _latin_plain_table() -> dict[int, int]:
    """Each accented Latin letter to its plain letter in the same case (é to e, É to E, ễ to
    e) and each apostrophe to ', one character for one, so positions in a text stay true."""
    table = dict.fromkeys(map(ord, APOSTROPHES), ord("'"))
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        base = unicodedata.normalize("NFKD", chr(code))[0]
        if base != chr(code) and base.isascii() and base.isalpha():
            table[code] = ord(base)
    return table


def latin_plain(text: str) -> str:
    """The text with its Latin letters' accents left off and its apostrophes all ', each
    character where it was."""
    return text.translate(_latin_plain_table())


def _lower(char: str) -> str:
    lower = char.lower()
    return lower if len(lower) == 1 else char  # "İ" lowers to two characters


@functools.lru_cache(maxsize=64)
def _skeleton(plain: str, joiners: frozenset = _JOINERS) -> tuple[str, tuple[int, ...]]:
    """The text as names are looked for in it — accents left off, in lower case, without what
    joins a name's parts — and where each of its characters stands in the text."""
    chars, places = [], []
    for place, char in enumerate(latin_plain(plain)):
        if char not in joiners:
            chars.append(_lower(char))
            places.append(place)
    return "".join(chars), tuple(places)


@functools.lru_cache(maxsize=4096)
def _name_sought(name: str) -> tuple[str, str, frozenset[int]] | None:
    """(the name as `_skeleton` reads text, the name as written without accents and joiners,
    where its later words start: the count of letters before each); None for a name of fewer
    than two letters, which would be found everywhere."""
    written = latin_plain(half_width(name).strip())
    letters, word_starts = [], set()
    for char in written:
        if char in _JOINERS:
            word_starts.add(len(letters))
        else:
            letters.append(char)
    letters = "".join(letters)
    if len(letters) < 2:
        return None
    word_starts -= {0, len(letters)}  # a joiner before or after it ("Li-") starts no word
    return "".join(_lower(char) for char in letters), letters, frozenset(word_starts)


def _broken_only_between_words(found: str, word_starts: frozenset[int]) -> bool:
    """Whether the line breaks in `found` (a match of a Latin name) each stand where the name
    has a space, one at a time: "John\nSmith" is a name wrapped, "Amazing Grace\n\nPark" a
    paragraph's end, and "her\nan" not "He Ran"."""
    letters = breaks = 0
    for place, char in enumerate(found):
        if char in _LINE_BREAKS:
            if char == "\r" and found[place + 1 : place + 2] == "\n":
                continue  # \r\n is one
            breaks += 2 if char == "\u2029" else 1  # a paragraph's separator ends one
            if breaks > 1 or letters not in word_starts:
                return False
        elif char not in _JOINERS:
            letters, breaks = letters + 1, 0
    return True


def name_key(name: str) -> str:
    """A name as a lookup compares it: in lower case, without accents, in half width, without
    what joins its parts ("JOHN SMITH", "John Smith", "Ｊｏｈｎ Ｓｍｉｔｈ" and "johnsmith" alike;
    "José García" and "Jose Garcia"; "O’Brien" and "O'Brien"; "阿依古丽·买买提" and
    "阿依古丽买买提"), as masking finds it in a text (`name_spans`)."""
    return (name or "").translate(_name_key_table()).lower()


@functools.cache
def _name_key_table() -> dict[int, int | None]:
    """What `name_key` does to a character before lowering: full-width ASCII made plain,
    characters without width and what joins a name's parts left out, accents left off, every
    apostrophe written '."""
    table = {}
    for code in {*_HALF_WIDTH, *_latin_plain_table(), *map(ord, NAME_JOINERS)}:
        char = latin_plain(half_width(chr(code)))
        table[code] = None if char in _JOINERS else ord(char)
    return {code: target for code, target in table.items() if target != code}


def name_spans(name: str, plain: str) -> list[tuple[int, int]]:
    """Where `plain` (a text made `half_width`) writes `name`: with or without its accents
    ("Ana Maria Lopez" for "Ana María López"), its parts joined by any spacing or middle dot
    or none ("王 五", "阿依古丽买买提"); a name of several words in any case ("JOHN SMITH"), one
    of one word as written or in capitals (the name "May" is not the word "may"); a Latin name
    only as a whole word ("Li" not in "public"). A plain search of the text read as names are
    (`_skeleton`): no pattern to build per name."""
    sought = _name_sought(name)
    if sought is None:
        return []
    key, letters, word_starts = sought
    one_word = not word_starts
    latin_start, latin_end = _is_latin(letters[0]), _is_latin(letters[-1])
    joiners = _LATIN_JOINERS if latin_start and latin_end and not one_word else _JOINERS
    text, places = _skeleton(plain, joiners)
    spans, start = [], text.find(key)
    while start != -1:
        first, last = places[start], places[start + len(key) - 1] + 1
        found = "".join(char for char in latin_plain(plain[first:last]) if char not in joiners)
        if (
            not (latin_start and first and _is_latin(latin_plain(plain[first - 1])))
            and not (latin_end and last < len(plain) and _is_latin(latin_plain(plain[last])))
            and not (one_word and _is_latin(letters[0]) and found not in (letters, letters.upper()))
            and (joiners is _JOINERS or _broken_only_between_words(plain[first:last], word_starts))
        ):
            spans.append((first, last))
            start = text.find(key, start + len(key))
        else:
            start = text.find(key, start + 1)
    return spans


def half_width(text: str) -> str:
    """The text with full-width ASCII made plain and characters without width read as spaces,
    each character still where it was."""
    return (text or "").translate(_HALF_WIDTH)


def _area_dialled(match: re.Match) -> str:
    """The area code of an international landline, without its 0, bracketed or not."""
    return match.group("bracketed") or match.group("area")


def _dialled(candidate: str) -> str:
    """A phone number candidate without its grouping, 0086 written +86."""
    compact = re.sub(r"[^\d+]", "", candidate)
    return "+" + compact[2:] if compact.startswith("0086") else compact


def personal_data_spans(text: str, *, also=()) -> list[tuple[int, int, str]]:
    """Where `text` holds a phone number, email address, ID number, or a QQ number or WeChat ID
    after the word for it: (start, end, kind) in
    order, none overlapping; `also` adds the caller's own finds, (start, end, kind) each, unless
    they overlap one of those."""
    plain = half_width(text)
    spans: list[tuple[int, int, str]] = []

    def add(start, end, kind):
        if not any(start < other_end and other_start < end for other_start, other_end, _k in spans):
            spans.append((start, end, kind))

    for match in _ID_NUMBER_IN_TEXT.finditer(plain):
        if _ID_NUMBER.match(re.sub(_GAP, "", match.group())):
            add(match.start(), match.end(), ID_NUMBER)
    for match in _EMAIL_IN_TEXT.finditer(plain):
        add(match.start(), match.end(), EMAIL)
    for match in _MOBILE_IN_TEXT.finditer(plain):
        if MOBILE.match(_dialled(match.group())):
            add(match.start(), match.end(), PHONE)
    for match in _LANDLINE_IN_TEXT.finditer(plain):
        area = match.group("bracketed") or match.group("area")
        local = re.sub(r"\D", "", match.group("local"))
        if LANDLINE.match(phone_compact(f"{area}-{local}{match.group('extension') or ''}")):
            add(match.start(), match.end(), PHONE)
    for match in _INTERNATIONAL_LANDLINE_IN_TEXT.finditer(plain):
        local = re.sub(r"\D", "", match.group("local"))
        # A number of the numbering plan (a real area code), not any digits of its shape.
        number = phone_parse(f"+86{_area_dialled(match)}{local}")
        if number is not None and area_code_length(number):
            add(match.start(), match.end(), PHONE)
    for match in _LOCAL_NUMBER_IN_TEXT.finditer(plain):
        if not _YEARS.fullmatch(match.group("local")):
            add(match.start("local"), match.end("local"), PHONE)
    for pattern in _IM_ACCOUNTS_IN_TEXT:
        for match in pattern.finditer(plain):
            add(match.start("account"), match.end("account"), IM_ACCOUNT)
    for start, end, kind in also:
        add(start, end, kind)
    return sorted(spans)


def _masked_span(found: str, kind: str) -> str:
    if kind == ID_NUMBER:
        compact = re.sub(_GAP, "", found)
        return compact[:2] + "*" * (len(compact) - 2)
    if kind == EMAIL:
        return mask_email(found)
    if kind == IM_ACCOUNT:
        return found[0] + "*" * (len(found) - 1)
    if kind == PHONE:
        if dialled := _INTERNATIONAL_LANDLINE_IN_TEXT.fullmatch(half_width(found)):
            # Masked as the number, without the extension that would read as its last digits.
            local = re.sub(r"\D", "", dialled.group("local"))
            return mask_phone(f"+86 {_area_dialled(dialled)} {local}")
        return mask_phone(re.sub(r"^(?:00)?(?=86)", "+", re.sub(_GAP, " ", found)))
    return "＊＊"


def comment_text_masked(comment, text: str | None = None) -> str:
    """A comment's text (by default its body; or a reply about it) as read by whoever sees its
    submitter masked: the public, and staff of a department that only cooperates on it. A
    letter typed in ends with its writer's name, telephone and address, which the masked
    contact fields would otherwise give away in full."""
    return personal_data_masked(
        comment.body if text is None else text,
        names=(comment.submitter_name, comment.organisation),
    )


def comment_texts_found_by_proof(comment) -> dict[str, str]:
    """The comment's body, decision reason and reply for whoever looks it up by its number and
    proof: masked as a cooperating department reads them, since the proof's four digits are
    what the masked phone shows every member of staff of the comment's departments. The
    signed link the submitter was given shows them whole."""
    return {
        field: comment_text_masked(comment, getattr(comment, field))
        for field in ("body", "decision_reason", "reply")
    }


def personal_data_masked(text: str, *, names=()) -> str:
    """The text with every phone number, email address and ID number in it masked, and each of
    `names` (the submitter's own name and organisation) replaced by ＊＊: what may go public.

    Full-width digits and ＠ are read as plain ones; what is kept is the text as written.
    """
    text = text or ""
    # Read without the characters that show nothing (a number split by zero-width spaces, one
    # per digit, looks whole), and masked in the text as written: those outside what is masked
    # stay (an emoji's joiners).
    shown_at = (
        [at for at, char in enumerate(text) if not INVISIBLE.match(char)]
        if INVISIBLE.search(text)
        else None
    )
    visible = "".join(text[at] for at in shown_at) if shown_at is not None else text
    plain = half_width(visible)
    # The names as the text is read: without characters that show nothing (a rare character
    # spelt with a variation selector, "王\u200b五").
    readable = {INVISIBLE.sub("", name).strip() for name in names if name}
    named = [(start, end, NAME) for name in readable for start, end in name_spans(name, plain)]
    masked, last = [], 0
    for start, end, kind in personal_data_spans(visible, also=named):
        found = plain[start:end]
        if shown_at is not None:
            start, end = shown_at[start], shown_at[end - 1] + 1
        masked += [text[last:start], _masked_span(found, kind)]
        last = end
    return "".join([*masked, text[last:]])
