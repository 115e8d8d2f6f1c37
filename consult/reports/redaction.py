"""Personal data in text going public: phone numbers, emails, ID numbers, people addressed by name.

Pure: a string in, the findings out, each with where it is (``text[start:end] == finding.text``).
It errs on the side of refusing: a coordinator who is told "姓名“张先生”" rewrites the sentence.
Phone numbers, emails and ID numbers are found as the public comment lists mask them
(`consult.comments.privacy.personal_data_spans`); people addressed by name are this module's.
"""

import re
from dataclasses import dataclass

from consult.comments.privacy import (
    APOSTROPHES,
    EMAIL,
    ID_NUMBER,
    IM_ACCOUNT,
    LINE_BREAKS,
    NAME,
    NAME_JOINERS,
    PHONE,
    half_width,
    name_key,
    name_spans,
    personal_data_spans,
)
from consult.text import CHINESE_CHARACTERS

__all__ = [
    "EMAIL",
    "ID_NUMBER",
    "IM_ACCOUNT",
    "NAME",
    "PHONE",
    "Finding",
    "name_candidates",
    "personal_data_in",
]

# The most common surnames (about nine in ten people), then a salutation: 赵六同志, 张先生.
_COMPOUND_SURNAMES = "欧阳|司马|诸葛|上官|东方|慕容|司徒|夏侯|皇甫|令狐|公孙|尉迟|长孙|宇文"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟"
    "殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛"
    "靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜"
    "冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查"
    "麻苑迟邝"
)
_SALUTATIONS = "同志|先生|女士|小姐"
_NAME = re.compile(
    rf"(?:{_COMPOUND_SURNAMES}|[{_SURNAMES}])[\u4e00-\u9fff]{{0,2}}?(?:{_SALUTATIONS})(?!们)"
)
# Words before a salutation that address a group, not a person ("党员同志", "全体同志").
_NOT_NAMES = {
    "党员",
    "全体",
    "单位",
    "有关",
    "相关",
    "广大",
    "各位",
    "基层",
    "干部",
    "青年",
    "女",
    "男",
    "老",
    "年轻",
    "工作",
}


@dataclass(frozen=True)
class Finding:
    kind: str  # PHONE, EMAIL, ID_NUMBER, IM_ACCOUNT or NAME
    text: str
    start: int
    end: int


def _names(text: str):
    for match in _NAME.finditer(text):
        before = re.sub(rf"(?:{_SALUTATIONS})$", "", match.group())
        if before in _NOT_NAMES or any(
            before.endswith(word) for word in _NOT_NAMES if word != "老"
        ):
            continue
        yield match.start(), match.end()


# Words a report writes next to a person who wrote in: after the name ("赵六提出的", "赵六等群众",
# "赵六反映") or before it ("采纳赵六的建议", "感谢市民赵六"). A commenter's name is looked for
# there only: "金融" given as a name must not refuse "金融机构", which has no other wording.
_AFTER_A_PERSON = re.compile(
    "提出|所提|提的|反映|认为|建议|指出|来信|来电|等|的意见|的建议|的来信|同志|先生|女士"
)
_WORDS_BEFORE_A_PERSON = ("采纳", "感谢", "市民", "群众", "居民", "渔民", "网民", "村民", "来信人")
_BEFORE_A_PERSON = re.compile("|".join(_WORDS_BEFORE_A_PERSON))
# What a name is written with: Chinese (the extension blocks too), Latin letters with or without
# accents and apostrophes of every form ("O'Brien", "D’Arcy"), and what joins its parts
# (NAME_JOINERS: the middle dot of a transcribed name, "热依拉·买买提"; the spaces of a Latin
# one, "Zhao Liu"; a line break read as one).
_LATIN_LETTERS = "A-Za-z\u00c0-\u024f\u1e00-\u1eff'" + APOSTROPHES
_NAME_RUN = (
    f"[{CHINESE_CHARACTERS}{_LATIN_LETTERS}"
    + "".join(re.escape(joiner) for joiner in NAME_JOINERS)
    + "]"
)
# The longest run read, and the longest name in it: a transcribed one of 16 Chinese characters
# ("阿卜杜热合曼·阿卜杜热西提" has 12), a Latin one of six words ("Juan Carlos de la Cruz").
_LONGEST_RUN = 40
_LONGEST_CHINESE_NAME = 16
_LONGEST_LATIN_NAME_IN_WORDS = 6
_CHINESE_CHARACTER = re.compile(f"[{CHINESE_CHARACTERS}]")
# The letters before a word a report writes after a person, and after one it writes before.
_RUN_BEFORE = re.compile(f"{_NAME_RUN}{{1,{_LONGEST_RUN}}}$")
_RUN_AFTER = re.compile(f"{_NAME_RUN}{{1,{_LONGEST_RUN}}}")
_SPACE_CHARACTERS = "".join(joiner for joiner in NAME_JOINERS if joiner.isspace()) + LINE_BREAKS
_SPACES = re.escape(_SPACE_CHARACTERS)


def _may_be_a_name(candidate: str) -> bool:
    latin = _CHINESE_CHARACTER.sub(" ", candidate)
    return (
        len(name_key(candidate)) > 1
        and len(_CHINESE_CHARACTER.findall(candidate)) <= _LONGEST_CHINESE_NAME
        and len(re.findall(f"[^{_SPACES}]+", latin)) <= _LONGEST_LATIN_NAME_IN_WORDS
    )


def name_candidates(text: str) -> set[str]:
    """What in ``text`` may be a commenter's name: the endings of the letters before a word a
    report writes after a person, and the beginnings of those after one it writes before a
    person (up to 16 Chinese characters or six Latin words); to look up among the names
    commenters gave."""
    # "John\nSmith", wrapped: read as the space it stands for.
    plain = re.sub(f"[{LINE_BREAKS}]+", " ", half_width(text or ""))
    found = set()
    for match in _AFTER_A_PERSON.finditer(plain):
        # Only the letters just before it: searching the whole text before each such word
        # took seconds on a long report (the check runs as it is published).
        before = _RUN_BEFORE.search(plain, max(0, match.start() - _LONGEST_RUN), match.start())
        if before:
            run = before.group()
            found.update(run[-length:].strip() for length in range(2, len(run) + 1))
    for match in _BEFORE_A_PERSON.finditer(plain):
        after = _RUN_AFTER.match(plain, match.end())
        if after:
            run = after.group()
            found.update(run[:length].strip() for length in range(2, len(run) + 1))
    return {candidate for candidate in found if _may_be_a_name(candidate)}


def _written_of_a_person(plain: str, start: int, end: int) -> bool:
    """Whether a word a report writes of a person stands next to plain[start:end], spaces
    between them or not ("感谢 John Smith 的来信")."""
    after = len(plain) - len(plain[end:].lstrip(_SPACE_CHARACTERS))
    before = len(plain[:start].rstrip(_SPACE_CHARACTERS))
    return bool(
        _AFTER_A_PERSON.match(plain, after) or plain.endswith(_WORDS_BEFORE_A_PERSON, 0, before)
    )


def personal_data_in(text: str, *, names=()) -> list[Finding]:
    """Every phone number, email, ID number and salutation by name in ``text``, in order; and
    each of `names` (names commenters gave) where the text writes it of a person, with or
    without a salutation ("采纳张三丰提出的建议")."""
    text = text or ""
    plain = half_width(text)
    named = [
        (start, end, NAME)
        for name in {name.strip() for name in names if name}
        for start, end in name_spans(name, plain)
        if _written_of_a_person(plain, start, end)
    ]
    spans = personal_data_spans(
        text, also=[(start, end, NAME) for start, end in _names(plain)] + named
    )
    return [
        Finding(kind=kind, text=text[start:end], start=start, end=end) for start, end, kind in spans
    ]
