"""Reading a notice for comment (征求意见通知) as published, with its attached draft.

Pure Python, no Django. A notice has two parts:

- the notice itself: its title (the draft's name in 《》), the call for comments with the
  deadline, contact lines and a signature block (issuing body on one line, date below);
- the draft (征求意见稿), after the signature block: its own title and "(征求意见稿)" line,
  an introduction, then numbered clauses whose paragraphs may end in a responsibility
  parenthesis naming lead (牵头) and cooperating (配合 / 按职责分工负责) departments.

The draft starts after the signature block, so a numbered list in the notice (意见反馈方式：
1．电子邮件…) is never taken for a clause. The document ends at the first contact line or
hosting-site footer line (a short line such as "标签：…", "关注", "相关推荐") after the draft has
started; a paragraph that merely begins with such a word (关注重点企业…) is part of the draft.

A responsibility parenthesis names departments only by names that end like an organisation
(局, 委, 办, 中心 …): a name the parser cannot read as one fails the import naming its line,
rather than becoming a department nobody's mailbox answers for.
"""

import datetime
import re
import zoneinfo
from dataclasses import dataclass, field

# Notices are written and dated in Beijing time.
BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")

# Full-width forms normalised for matching only; the text itself is kept as written.
_HALF = str.maketrans(
    "（）【】：；，。．、　－０１２３４５６７８９",
    "()[]:;,。.、 -0123456789",
)
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CN_DIGITS |= {"七": 7, "八": 8, "九": 9}
_CN = "一二三四五六七八九十百零〇两"

_HEADING_PATTERNS = [
    ("chapter", re.compile(rf"^第([{_CN}\d]+)章\s*(.*)$")),
    ("section", re.compile(rf"^第([{_CN}\d]+)节\s*(.*)$")),
    ("article", re.compile(rf"^第([{_CN}\d]+)条\s*(.*)$")),
    ("cn", re.compile(rf"^([{_CN}]+)\s*、\s*(.*)$")),
    ("paren", re.compile(rf"^\(\s*([{_CN}]+)\s*\)\s*(.*)$")),
    ("arabic", re.compile(r"^(\d{1,3})\s*[.、](?!\d)\s*(.*)$")),
]
_SENTENCE_END = re.compile(r"[。；;！？!?:]")
_DATE = r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日"
# "17:00", "17时30分" after a closing day: the closing moment, however the day is introduced.
_TIME = r"\s*(?:(\d{1,2})\s*[:时]\s*(\d{0,2})\s*分?)?"
# "11月10日（星期日）": the day of the week a notice may add after a day.
_WEEKDAY = r"(?:\((?:星期|礼拜|周)[一二三四五六日天]\))?"
# The opening day's time, if written ("10月12日9:00至11月10日17:00"), is not kept: a period
# opens when the notice is published.
_OPENING_TIME = r"(?:\s*\d{1,2}\s*[:时]\s*\d{0,2}\s*分?)?"
_DEADLINE_RANGE = re.compile(
    _DATE
    + _WEEKDAY
    + _OPENING_TIME
    + r"\s*(?:起)?\s*(?:至|到|—|－|-|~|～)\s*"
    + _DATE
    + _WEEKDAY
    + _TIME
)
# "即日起至11月10日止": from the day the notice is published.
_DEADLINE_FROM_NOW = re.compile(r"即日起\s*(?:至|到)\s*" + _DATE + _WEEKDAY + _TIME)
_DEADLINE_LABELLED = re.compile(
    r"(?:截止|截至)(?:时间|日期)?\s*(?:为|是)?\s*:?\s*" + _DATE + _WEEKDAY + _TIME
)
_DEADLINE_BEFORE = re.compile(_DATE + _WEEKDAY + _TIME + r"\s*(?:之前|以前|前)")
_SIGNATURE_DATE = re.compile(
    rf"^(?:(\d{{4}})年(\d{{1,2}})月(\d{{1,2}})日|([{_CN}]{{4}})年([{_CN}]{{1,3}})月([{_CN}]{{1,3}})日)$"
)
_CONTACT_LABELS = {
    "name": r"联\s*系\s*人",
    "phone": r"(?:联系电话|咨询电话|联系方式|电\s*话)",
    "email": r"(?:电子邮箱|电子邮件|邮\s*箱|E-?mail)",
}
_CONTACT_LINE = re.compile(r"^(?:" + "|".join(_CONTACT_LABELS.values()) + r")\s*:", re.I)
# A hosting site's footer: a short line of its own, never a paragraph that begins with the word.
_FOOTER = re.compile(
    r"^(?:(?:标签|上一篇|下一篇|责任编辑|分享到|热门搜索)\s*:"
    r"|(?:关注|相关推荐|最近搜索|热门搜索|分享到|打印本页|关闭窗口)$"
    r"|关注我们|\[打印\]|\[关闭\])"
)
_FOOTER_MAX_LENGTH = 60
_ATTACHMENT = re.compile(r"^附\s*件\s*\d*\s*(?::|$)")
# "征求意见稿", "草案征求意见稿", and a later round's "二次征求意见稿" / "第三次征求意见稿".
_DRAFT_WORD = r"(?:草案)?(?:第?[二三四五六七八九十]次)?征求意见稿"
_DRAFT_MARK = re.compile(rf"^\(?{_DRAFT_WORD}\)?$")
_REFERENCE = re.compile(r"^[\u4e00-\u9fff]{1,12}[〔\[(]\d{4}[〕\])]\s*\d+\s*号$")
_ORG_SUFFIX = re.compile(r"(?:委员会|办公室|政府|局|委|办|厅|部|中心|院|会|行|处|所|站|馆)$")
_SHORT_NAME = re.compile(r"[省市县区](?:[\u4e00-\u9fff]{1,8}?)(?:局|委|办|厅|部|中心)")
_GENERIC = re.compile(
    r"^(?:各|有关|相关)|(?:有关|相关|各)[\u4e00-\u9fff]*(?:部门|单位)$|^市直|^市属"
    # Every county, county-level city and district at once, with or without 各.
    r"|^县市区|^县\(市、区\)|^县（市、区）"
)

_ROLE_PREFIXED = [
    ("lead", re.compile(r"^(?:牵头单位|牵头部门|主责单位)\s*:\s*(.+)$")),
    ("cooperating", re.compile(r"^(?:责任单位|配合单位|参与单位|协办单位|责任部门)\s*:\s*(.+)$")),
]
_CARRY_OUT = r"(?:负责|落实|推进|实施)"
_ROLE_SUFFIXED = [
    # 牵头, 共同牵头, 分别牵头 (each leads its part), 牵头负责, 牵头落实 …
    ("lead", re.compile(r"^(.+?)\s*(?:共同|分别)?牵头(?:负责|落实|推进|实施|抓总)?$")),
    # 按职责分工负责, 按照职责分工落实, 分工负责 …
    ("cooperating", re.compile(rf"^(.+?)\s*(?:按照?职[责能](?:分工)?|分工){_CARRY_OUT}$")),
    ("cooperating", re.compile(rf"^(.+?)\s*(?:配合|参与|协同|协助|协办){_CARRY_OUT}?$")),
    ("lead", re.compile(rf"^(.+?)\s*(?:共同|分别)?负责{_CARRY_OUT}?$")),
]
# "A会同B负责": A does it together with B, A in the lead: A takes the segment's role, B
# cooperates.
_TOGETHER_WITH = "会同"
# The last characters of a body's name: 市海渔局, 市发改委, 潍坊国际风筝会综合服务中心, 人民银行
# 潍坊市分行, 市妇联, 潍坊海关, 市消防救援支队, 潍坊滨海经济技术开发区 …
_NAME_END = re.compile(
    r"(?:局|委|办|厅|部|部门|单位|中心|院|会|行|处|所|站|馆|队|社|联|协|关|署|室|司|府|团|校|学|班"
    r"|开发区|园区|新区|试验区|示范区)$"
)
# A county or district named as responsible: 寿光市, 奎文区, 临朐县 (not 全市, 本区).
_PLACE_NAME = re.compile(r"^(?!.*[全本我该各])[\u4e00-\u9fff]{2,5}[市县区]$")
# Words of a responsibility phrase, never of a name: "市海渔局分别" is a phrase misread.
_NOT_IN_NAME = re.compile(r"会同|分别|共同|牵头|负责|配合|落实|按职|按照")
# A note that speaks of the whole draft rather than of its clause ("…以下不再列出").
_WHOLE_DRAFT_NOTE = re.compile(r"各项任务|以下不再|不再(?:一一)?列出|下同")
_ROLE_WORDS = re.compile(r"牵头|按职责|分工负责|配合|责任单位|牵头单位|负责")


class NoticeParseError(ValueError):
    """`message` is a message id marked with `gettext_noop`, `params` its values: the parser
    stays plain Python, and whoever shows the error translates it (importer.notice_error_text).
    """

    def __init__(self, message: str, line: int | None = None, **params):
        self.template = message
        self.params = params
        self.message = message % params if params else message
        self.line = line
        super().__init__(f"第{line}行：{self.message}" if line else self.message)


def gettext_noop(message: str) -> str:
    """Marks a message for translation (makemessages reads the name) without Django."""
    return message


@dataclass
class Contact:
    name: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass
class ParsedClause:
    number: str
    heading: str
    text: str
    lead: list[str]
    cooperating: list[str]
    children: list["ParsedClause"]
    line: int
    level: str

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "heading": self.heading,
            "text": self.text,
            "lead": list(self.lead),
            "cooperating": list(self.cooperating),
            "children": [child.to_dict() for child in self.children],
            "level": self.level,
            "line": self.line,
        }


@dataclass
class ParsedNotice:
    title: str
    draft_title: str | None
    issuer: str
    issuer_short_names: list[str]
    reference_number: str | None
    published_on: datetime.date | None
    opens_on: datetime.date | None
    closes_on: datetime.date | None
    contact: Contact
    preamble: str
    remarks: list[str]
    clauses: list[ParsedClause] = field(default_factory=list)
    # The time of day on `closes_on` before which comments must arrive ("17:00前"); None
    # when the notice gives the day alone (the whole day counts).
    closes_before: datetime.time | None = None

    def to_dict(self) -> dict:
        def day(value):
            return value.isoformat() if value else None

        return {
            "title": self.title,
            "issuer": self.issuer,
            "published_on": day(self.published_on),
            "opens_on": day(self.opens_on),
            "closes_on": day(self.closes_on),
            "closes_before": self.closes_before.isoformat() if self.closes_before else None,
            "contact": {
                "name": self.contact.name,
                "phone": self.contact.phone,
                "email": self.contact.email,
            },
            "preamble": self.preamble,
            "clauses": [clause.to_dict() for clause in self.clauses],
            "draft_title": self.draft_title,
            "issuer_short_names": list(self.issuer_short_names),
            "reference_number": self.reference_number,
            "remarks": list(self.remarks),
        }


@dataclass
class _Line:
    number: int
    text: str  # as written, stripped
    norm: str  # full-width forms folded to half-width, for matching


def is_generic_group(name: str) -> bool:
    """Names that stand for many bodies at once (各县市区人民政府, 市有关部门): no mailbox."""
    name = name.strip()
    return "各" in name or bool(_GENERIC.search(name))


def abbreviates(short: str, full: str) -> bool:
    """Whether `short` (市海渔局) is a short name for `full` (潍坊市海洋发展和渔业局)."""
    short, full = short.strip(), full.strip()
    if len(short) < 3 or short == full or short[0] not in "省市县区":
        return False
    start = full.find(short[0])
    if start < 0:
        return False
    # The kind of body the short name ends with, and how its full name may write it.
    kinds = {"办公室": ("办公室",), "委员会": ("委员会",), "中心": ("中心",)}
    kinds |= {"局": ("局",), "委": ("委员会", "委"), "办": ("办公室", "办"), "厅": ("厅",)}
    kinds |= {"部": ("部",)}
    tail = next((kind for kind in kinds if short.endswith(kind)), short[-1])
    suffix = next((kind for kind in kinds.get(tail, (tail,)) if full.endswith(kind)), None)
    if suffix is None:
        return False
    middle = short[1 : -len(tail)]
    position = start + 1
    for char in middle:
        position = full.find(char, position)
        if position < 0:
            return False
        position += 1
    # What tells the full name from others of its kind (台港澳事务 in 潍坊市人民政府台港澳事务
    # 办公室) gives the short name at least one character: 市政府办公室 took 政府 and 办公室
    # only, and is the general office, not that one.
    core = full[start + 1 : len(full) - len(suffix)]
    core = core.removeprefix("人民政府")
    return not core or any(char in core for char in middle)


def parse_notice(text: str) -> ParsedNotice:
    lines = _lines(text)
    if not lines:
        raise NoticeParseError(gettext_noop("通知是空的。"))
    signature = _find_signature(lines)
    issuer_line, date_line = lines[signature], lines[signature + 1]
    published_on = _signature_date(date_line)
    notice_lines = lines[:signature]
    draft_lines = _until_document_end(lines[signature + 2 :])

    title = _title(notice_lines)
    contact = _contact(notice_lines)
    opens_on, closes_on, closes_before = _deadline(notice_lines, published_on)
    reference = next((ln.text for ln in notice_lines[1:6] if _REFERENCE.match(ln.norm)), None)
    notice_body = [
        ln
        for ln in notice_lines
        if ln.text != notice_lines[0].text
        and not _CONTACT_LINE.match(ln.norm)
        and not _ATTACHMENT.match(ln.norm)
        and ln.text != reference
    ]
    draft_title, draft_preamble, clauses, remarks = _draft(draft_lines, date_line.number)
    issuer = issuer_line.text
    body_text = "\n".join(ln.text for ln in notice_body)
    short_names = []
    for match in _SHORT_NAME.finditer(body_text):
        candidate = match.group(0)
        if abbreviates(candidate, issuer) and candidate not in short_names:
            short_names.append(candidate)
    preamble = "\n".join([ln.text for ln in notice_body] + draft_preamble)
    return ParsedNotice(
        title=title,
        draft_title=draft_title,
        issuer=issuer,
        issuer_short_names=short_names,
        reference_number=reference,
        published_on=published_on,
        opens_on=opens_on,
        closes_on=closes_on,
        closes_before=closes_before,
        contact=contact,
        preamble=preamble,
        remarks=remarks,
        clauses=clauses,
    )


# Control characters a text extracted from a PDF or Word carries inside its lines; they mean
# nothing in the notice and no Word document can hold them.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _lines(text: str) -> list[_Line]:
    """The text's non-empty lines. A page break (form feed, from pdftotext) or Word's manual
    line break (vertical tab) ends a line as a newline does (str.splitlines)."""
    result = []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = _CONTROLS.sub("", raw).strip(" \t\u3000\xa0\ufeff")
        if stripped:
            result.append(_Line(number, stripped, stripped.translate(_HALF)))
    return result


def _find_signature(lines: list[_Line]) -> int:
    for i in range(len(lines) - 1):
        name, date = lines[i], lines[i + 1]
        if (
            _SIGNATURE_DATE.match(date.norm.replace(" ", ""))
            and len(name.norm) <= 40
            and not re.search(r"[,;:。!?]", name.norm)
            and _ORG_SUFFIX.search(name.norm)
        ):
            return i
    raise NoticeParseError(
        gettext_noop("没有找到落款（发文单位一行，其下为日期一行，如“2024年10月11日”）。")
    )


def _cn_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if all(ch in _CN_DIGITS for ch in text):  # 二〇二四
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return total + current


def _make_date(year: int, month: int, day: int, line: _Line) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError as error:
        raise NoticeParseError(
            gettext_noop("日期不存在：%(year)s年%(month)s月%(day)s日。"),
            line.number,
            year=year,
            month=month,
            day=day,
        ) from error


def _signature_date(line: _Line) -> datetime.date:
    match = _SIGNATURE_DATE.match(line.norm.replace(" ", ""))
    parts = [p for p in match.groups() if p is not None]
    return _make_date(*(_cn_number(p) for p in parts), line)


def _title(notice_lines: list[_Line]) -> str:
    for line in notice_lines[:3]:
        match = re.search(r"《(.+?)》", line.text)
        if match:
            title = match.group(1).strip()
            return re.sub(rf"\s*[(（]?\s*{_DRAFT_WORD}\s*[)）]?\s*$", "", title) or title
    first = notice_lines[0].text if notice_lines else ""
    return re.sub(r"^关于(?:对)?|征求意见的通知$|的通知$", "", first) or first


def _contact(notice_lines: list[_Line]) -> Contact:
    contact = Contact()
    stop = r"(?=[\s,;，；、]|$|" + "|".join(_CONTACT_LABELS.values()) + ")"
    patterns = {
        "name": re.compile(_CONTACT_LABELS["name"] + r"\s*:\s*([^\s,;:]+?)" + stop),
        "phone": re.compile(
            _CONTACT_LABELS["phone"] + r"\s*:\s*([0-9*＊\-—()（）\s转]{5,}?)" + stop
        ),
        "email": re.compile(
            _CONTACT_LABELS["email"] + r"\s*:\s*([\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+)", re.I
        ),
    }
    for line in notice_lines:
        for key, pattern in patterns.items():
            if getattr(contact, key) is None:
                match = pattern.search(line.norm)
                if match:
                    setattr(contact, key, match.group(1).strip())
    return contact


def _date_or_none(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


class RecentlyPast(NoticeParseError):
    """A deadline without its year shortly before the notice's own day."""


# A day without its year up to this long before the notice's own day is read in its year: an
# opening shortly before the notice was signed, or a deadline already past (a typo) which is
# refused, never taken as the same day a year later.
RECENTLY_PAST = datetime.timedelta(days=92)


def _resolve_year(
    year, month, day, base: datetime.date, line, *, recent: str = ""
) -> datetime.date:
    """The day as written or, without a year, the first such day on or after `base`.

    Only the year of `base` and the next can hold it: 2月29日 read on 2023-12-20 is in 2024.
    With `recent` "opening" or "closing", `base` is the notice's day, and a day up to
    RECENTLY_PAST before it is that day of its year: an opening is taken, a closing refused.
    """
    month, day = int(month), int(day)
    if year:
        return _make_date(int(year), month, day, line)
    shortly_before = [
        candidate
        for candidate in (_date_or_none(y, month, day) for y in (base.year, base.year - 1))
        if candidate is not None and base - RECENTLY_PAST <= candidate < base
    ]
    if recent and shortly_before:
        if recent == "opening":
            return shortly_before[0]
        raise _past_deadline(month, day, base, line)
    for candidate_year in (base.year, base.year + 1):
        candidate = _date_or_none(candidate_year, month, day)
        if candidate is not None and candidate >= base:
            return candidate
    raise NoticeParseError(
        gettext_noop("日期不存在：%(year)s年%(month)s月%(day)s日之后一年内没有%(m)s月%(d)s日。"),
        line.number,
        **{"year": base.year, "month": base.month, "day": base.day, "m": month, "d": day},
    )


def _past_deadline(month, day, published_on: datetime.date, line) -> RecentlyPast:
    return RecentlyPast(
        gettext_noop(
            "截止日期%(m)s月%(d)s日在通知落款日期%(year)s年%(month)s月%(day)s日之前："
            "请核对日期，或写明年份。"
        ),
        line.number,
        **{
            "year": published_on.year,
            "month": published_on.month,
            "day": published_on.day,
            "m": int(month),
            "d": int(day),
        },
    )


def _resolve_year_on_or_before(month, day, limit: datetime.date, line) -> datetime.date:
    """The last such day on or before `limit`: the opening of a period whose close has a year."""
    month, day = int(month), int(day)
    for candidate_year in (limit.year, limit.year - 1):
        candidate = _date_or_none(candidate_year, month, day)
        if candidate is not None and candidate <= limit:
            return candidate
    raise NoticeParseError(
        gettext_noop("日期不存在：%(year)s年%(month)s月%(day)s日之前一年内没有%(m)s月%(d)s日。"),
        line.number,
        **{"year": limit.year, "month": limit.month, "day": limit.day, "m": month, "d": day},
    )


def beijing_today() -> datetime.date:
    """Today where notices are dated, whatever the time zone of the machine reading them."""
    return datetime.datetime.now(BEIJING).date()


def notice_deadline(
    text: str,
    *,
    published_on: datetime.date | None = None,
    today: datetime.date | None = None,
) -> tuple[datetime.date | None, datetime.date | None]:
    """(opens_on, closes_on) from the first line of `text` that states the comment period.

    A day written without its year is the first such day on or after `published_on` — but
    one up to RECENTLY_PAST before it, in its year, is that day: an opening day is taken, a
    closing day refused (a deadline gone by is a typo, not the same day a year later) — or,
    without a publication day, the first such day on or after `today` (by default Beijing's,
    see `beijing_today`). A closing day without a year follows its opening day; an opening day
    without a year, before a closing day with one, is the last such day before it.
    """
    if published_on is not None:
        return _deadline(_lines(text), published_on)[:2]
    return _deadline(_lines(text), today or beijing_today(), signed=False)[:2]


# A line saying when the public's comments are due speaks of them; one that only has a date
# and "前" or "截止" may be about anything else the notice mentions ("本方案须于12月31日前印发",
# "申报截止日期为…"), and one telling of comments already asked for is history.
_ABOUT_COMMENTS = re.compile(r"意见|反馈|公示")
# What tells of comments asked for before, up to its 意见 ("已征求相关部门意见", "在广泛征求了
# 企业意见的基础上"): left out of the line, whose other words may state the period now.
_COMMENTS_ALREADY_ASKED = re.compile(
    r"(?:已(?:经)?(?:[^，。,；;]{0,12}?)征求|征求了)[^，。,；;]{0,30}?意见"
)


def _deadline(notice_lines, base: datetime.date, *, signed: bool = True):
    """(opens_on, closes_on, closes_before): see `notice_deadline`; closes_before is the time
    of day a "…前" deadline gives, if any. From the first line about comments that states it;
    failing one, from a line that is a deadline's label ("截止日期：…"). Never from any other
    date the notice gives ("本方案须于12月31日前印发实施": that notice is refused for stating
    no deadline, not opened for seven weeks more), nor from a line telling of comments asked
    for before."""
    lines = [
        (line, _deadline_wording(_COMMENTS_ALREADY_ASKED.sub("", line.norm.replace(" ", ""))))
        for line in notice_lines
    ]
    past = None
    for line, text in lines:
        if not _ABOUT_COMMENTS.search(text):
            continue
        try:
            found = _deadline_in(text, base, line, signed)
        except RecentlyPast as error:
            # A line about comments with a day gone by ("须于1月31日前起草完成并征求意见"):
            # refused only if no later line states the deadline.
            past = past or error
            continue
        if found:
            return found
    if past:
        raise past
    for line, text in lines:
        if match := _DEADLINE_LABELLED.match(text):
            return None, *_closing(match, base, line, signed)
    return None, None, None


_CN_DAY = re.compile(rf"(?:([{_CN}]{{4}})年)?([{_CN}]{{1,3}})月([{_CN}]{{1,3}})日")
_CLOCK = re.compile(
    rf"(上午|中午|下午|晚上)?(\d{{1,2}}|[{_CN}]{{1,3}})[:时点]([{_CN}]{{1,3}}|\d{{0,2}})分?"
)


def _deadline_wording(text: str) -> str:
    """A line's dates and times as the deadline patterns read them: "十一月十日" as 11月10日,
    "下午5时" and "17点" as 17:00, "——" as one dash, "截止至" as 截止."""

    def arabic_day(match):
        year, month, day = match.groups()
        written = f"{_cn_number(month)}月{_cn_number(day)}日"
        return f"{_cn_number(year)}年{written}" if year else written

    def clock(match):
        part, hour = match.group(1), _cn_number(match.group(2))
        minute = _cn_number(match.group(3)) if match.group(3) else 0
        if part in ("下午", "晚上") and hour < 12:
            hour += 12
        elif part == "晚上" and hour == 12:
            hour = 24  # midnight: the whole day
        return f"{hour}:{minute:02d}"

    text = _CN_DAY.sub(arabic_day, text)
    text = _CLOCK.sub(clock, text)
    return text.replace("——", "—").replace("截止至", "截止").replace("截止到", "截止")


def _closing(match, base: datetime.date, line, signed: bool):
    """(closing day, time of day before which comments close) of a deadline pattern's match
    (year, month, day, hour, minute)."""
    year, month, day, hour, minute = match.groups()
    closing = _resolve_year(year, month, day, base, line, recent="closing" if signed else "")
    return closing, _time_of_day(hour, minute, line)


# A period whose close, written without its year, falls before its opening day is read as
# closing the next year ("12月20日至1月10日"); one that would last longer than this has its
# two days written the wrong way round ("11月10日至10月11日"), and is refused.
LONGEST_ROLLED_PERIOD = datetime.timedelta(days=183)


def _deadline_in(text: str, base: datetime.date, line, signed: bool):
    """The period or deadline `text` states, if any."""
    match = _DEADLINE_RANGE.search(text)
    if match:
        y1, m1, d1, y2, m2, d2, hour, minute = match.groups()
        closes_before = _time_of_day(hour, minute, line)
        if y2 and not y1:
            closes = _make_date(int(y2), int(m2), int(d2), line)
            return _resolve_year_on_or_before(m1, d1, closes, line), closes, closes_before
        opens = _resolve_year(y1, m1, d1, base, line, recent="opening" if signed else "")
        # "2024年12月20日至1月10日": the close's year is the one after the opening, not
        # the opening's year written once for both.
        closes = _resolve_year(y2, m2, d2, opens, line)
        if signed and not y2 and closes < base:
            raise _past_deadline(m2, d2, base, line)  # a period over before the notice
        if not y2 and closes.year > opens.year and closes - opens > LONGEST_ROLLED_PERIOD:
            raise NoticeParseError(
                gettext_noop(
                    "征求意见期%(m1)s月%(d1)s日至%(m2)s月%(d2)s日：截止日期早于开始日期，"
                    "请核对日期是否写反，或写明年份。"
                ),
                line.number,
                m1=int(m1),
                d1=int(d1),
                m2=int(m2),
                d2=int(d2),
            )
        return opens, closes, closes_before
    match = _DEADLINE_FROM_NOW.search(text)
    if match:
        return base, *_closing(match, base, line, signed)
    for pattern in (_DEADLINE_LABELLED, _DEADLINE_BEFORE):
        if match := pattern.search(text):
            return None, *_closing(match, base, line, signed)
    return None


def _time_of_day(hour: str | None, minute: str, line) -> datetime.time | None:
    """ "17:00", "17时30分"; None without a time or for "24:00" (the whole day, as a day alone
    is)."""
    if hour is None:
        return None
    hour, minute = int(hour), int(minute or 0)
    if (hour, minute) == (24, 0):
        return None
    if hour > 23 or minute > 59:
        raise NoticeParseError(
            gettext_noop("时间不存在：%(time)s。"), line.number, time=f"{hour}:{minute:02d}"
        )
    return datetime.time(hour, minute)


def _until_document_end(lines: list[_Line]) -> list[_Line]:
    for i, line in enumerate(lines):
        if _CONTACT_LINE.match(line.norm) or _is_footer(line):
            return lines[:i]
    return lines


def _is_footer(line: _Line) -> bool:
    return len(line.norm) <= _FOOTER_MAX_LENGTH and bool(_FOOTER.match(line.norm))


def _heading_of(line: _Line):
    for level, pattern in _HEADING_PATTERNS:
        match = pattern.match(line.norm)
        if match:
            return level, match
    return None


def _ordinal(raw: str) -> int | None:
    try:
        return _cn_number(raw)
    except KeyError:
        return None


def _carries_on(found, last_number: dict, roots: list[ParsedClause]) -> bool:
    """Whether a heading continues the draft's numbering at the top level or at a chapter,
    section or article (第五条 after 第四条), which lists in attachments do not."""
    level, match = found
    if level not in {"chapter", "section", "article", roots[0].level}:
        return False
    last = last_number.get(level)
    return last is not None and _ordinal(match.group(1)) == last + 1


def _number(level: str, raw: str) -> str:
    return {
        "chapter": f"第{raw}章",
        "section": f"第{raw}节",
        "article": f"第{raw}条",
        "paren": f"({raw})",
    }.get(level, raw)


def _split_heading(level: str, rest: str) -> tuple[str, str]:
    """(heading, text) for what follows a clause number on its line."""
    bracketed = re.match(r"^[\[(（【]([^\])）】]{1,30})[\])）】]\s*(.*)$", rest)
    if level == "article":
        if bracketed:
            return bracketed.group(1).strip(), bracketed.group(2).strip()
        return "", rest
    end = _SENTENCE_END.search(rest.translate(_HALF))
    if end is None:
        if len(rest) <= 40:
            return re.sub(r"\s+", "", rest), ""
        return "", rest
    first = rest[: end.start()].strip()
    if len(first) > 30:
        return "", rest
    return first, rest


def _draft(lines: list[_Line], after_line: int):
    draft_title = None
    preamble: list[str] = []
    roots: list[ParsedClause] = []
    stack: list[ParsedClause] = []
    remarks: list[str] = []
    paragraphs: dict[int, list[str]] = {}
    started = False
    # The lines from a "附件" line on, while they may be the draft's own attachments; and the
    # last number at each level, to tell a heading that carries the draft on.
    attachments: list[_Line] | None = None
    last_number: dict[str, int | None] = {}

    for line in _join_wrapped_parentheses(lines):
        found = _heading_of(line)
        if not started and found is None:
            if _ATTACHMENT.match(line.norm):
                continue
            mark = re.sub(r"\s", "", line.norm)
            suffix = re.search(rf"\({_DRAFT_WORD}\)$", mark)
            if _DRAFT_MARK.match(mark) or suffix:
                if suffix and suffix.start() > 0:
                    draft_title = re.sub(rf"\s*[(（]{_DRAFT_WORD}[)）]$", "", line.text)
                elif draft_title is None and preamble:
                    draft_title = preamble.pop()
                continue
            preamble.append(line.text)
            continue
        if attachments is None and _ATTACHMENT.match(line.norm):
            attachments = [line]
            continue
        if attachments is not None:
            # The draft's own attachments ("附件：1.重点任务分工表") are lists and tables after
            # its last clause, not clauses to comment on (the notice as published keeps them),
            # unless a heading carries the draft on ("附件1：申请表" in 第四条, then 第五条).
            if found is None or not _carries_on(found, last_number, roots):
                attachments.append(line)
                continue
            for held in attachments:
                paragraphs[id(stack[-1])].append(_take_responsibility(stack[-1], held, remarks))
            attachments = None
        if found is None:
            paragraphs[id(stack[-1])].append(_take_responsibility(stack[-1], line, remarks))
            continue
        started = True
        level, match = found
        raw_number, rest = match.group(1), line.text[len(line.text) - len(match.group(2)) :]
        clause = ParsedClause(
            number=_number(level, raw_number),
            heading="",
            text="",
            lead=[],
            cooperating=[],
            children=[],
            line=line.number,
            level=level,
        )
        body = _take_responsibility(
            clause, _Line(line.number, rest, rest.translate(_HALF)), remarks
        )
        clause.heading, first_text = _split_heading(level, body)
        paragraphs[id(clause)] = [first_text] if first_text else []
        levels = [c.level for c in stack]
        if level in levels:
            del stack[levels.index(level) :]
        (stack[-1].children if stack else roots).append(clause)
        stack.append(clause)
        last_number[level] = _ordinal(raw_number)

    if not started:
        at = lines[0].number if lines else after_line
        raise NoticeParseError(
            gettext_noop("征求意见稿中没有找到条款标题（如“一、”“（一）”“1.”“第一条”）。"), at
        )

    def finish(clause):
        clause.text = "\n".join(p for p in paragraphs[id(clause)] if p)
        for child in clause.children:
            finish(child)

    for root in roots:
        finish(root)
    return draft_title, preamble, roots, remarks


# How many lines a responsibility parenthesis broken by the page's line wrapping may run on.
_WRAPPED_LINES = 3


def _join_wrapped_parentheses(lines: list[_Line]) -> list[_Line]:
    """Lines with a responsibility parenthesis broken over lines ("…(市发改委牵头,市科技局、" then
    "市海渔局按职责分工负责)") joined back into one paragraph, numbered as its first line.

    Joined only when a following line, none of them a heading, closes the parenthesis; an
    unclosed one is otherwise left for `_take_responsibility` to refuse.
    """
    joined: list[_Line] = []
    i = 0
    while i < len(lines):
        count = _continuation_lines(lines[i], lines[i + 1 : i + 1 + _WRAPPED_LINES])
        parts = lines[i : i + 1 + count]
        joined.append(
            _Line(
                parts[0].number,
                "".join(part.text for part in parts),
                "".join(part.norm for part in parts),
            )
        )
        i += 1 + count
    return joined


def _continuation_lines(line: _Line, following: list[_Line]) -> int:
    """How many of `following` continue the responsibility parenthesis `line` leaves open."""
    opening = line.norm.rfind("(")
    if opening < 0 or opening < line.norm.rfind(")"):
        return 0
    tail = line.norm[opening:]
    if not (_ROLE_WORDS.search(tail) or re.search(r"[、,/]$", tail)):
        return 0
    for count, continuation in enumerate(following, 1):
        if _heading_of(continuation) or "(" in continuation.norm:
            return 0
        if ")" in continuation.norm:
            return count
    return 0


def _take_responsibility(clause: ParsedClause, line: _Line, remarks: list[str]) -> str:
    """The paragraph without its responsibility parenthesis, which goes onto the clause.

    A note after the departments stays in the paragraph, in its parenthesis ("2025年底前完成"
    belongs to its clause), unless it speaks of the whole draft ("各项任务…以下不再列出"): that
    one goes to `remarks`, once.
    """
    text = line.text
    norm = text.translate(_HALF)
    opening = max(norm.rfind("("), -1)
    if opening >= 0 and norm.rfind(")") < opening:
        if _ROLE_WORDS.search(norm[opening:]):
            raise NoticeParseError(gettext_noop("责任分工的括号没有闭合。"), line.number)
        return text
    span = _closing_parenthesis(norm)
    if span is None:
        return text
    start, end, stop = span
    # A parenthesis inside it ("市发改委牵头（总牵头）", "市财政局配合（2025年底前完成）") is a
    # note: out of the names (which were otherwise all dropped), kept with the clause's note.
    inner = re.compile(r"[(（]([^()（）]*)[)）]")
    content = text[start + 1 : end]
    parsed = _responsibility(inner.sub("", content), line.number)
    if parsed is None:
        return text
    lead, cooperating, remark = parsed
    remark = "，".join(part for part in (remark, *inner.findall(content)) if part)
    clause.lead.extend(lead)
    clause.cooperating.extend(cooperating)
    note, whole_draft_note = _split_note(remark)
    if whole_draft_note and whole_draft_note not in remarks:
        remarks.append(whole_draft_note)
    kept = text[:start]
    if note:
        kept += text[start] + note + text[end]
    return (kept + stop).rstrip()


def _closing_parenthesis(norm: str) -> tuple[int, int, str] | None:
    """(where it opens, where it closes, the full stop after it) of the parenthesis that ends
    the paragraph, parentheses inside it included; None when the paragraph ends otherwise."""
    match = re.search(r"\)\s*([。.]?)\s*$", norm)
    if not match:
        return None
    depth = 0
    for at in range(match.start(), -1, -1):
        depth += {")": 1, "(": -1}.get(norm[at], 0)
        if depth == 0:
            return at, match.start(), match.group(1)
    return None


def _split_note(remark: str) -> tuple[str, str]:
    """(the clause's own note, the note on the whole draft) in a remark: "2025年底前完成" is the
    clause's; from "各项任务…" or "…以下不再列出" on, it speaks of every clause."""
    for segment in re.finditer(r"[^,;，；]+", remark):
        if _WHOLE_DRAFT_NOTE.search(segment.group(0)):
            return remark[: segment.start()].strip(" ,;，；"), remark[segment.start() :]
    return remark, ""


def _responsibility(content: str, line_number: int | None = None):
    """(lead, cooperating, remark) from the inside of a parenthesis, or None if it names nobody.

    Segments are separated by "，" or "；". A segment that only names departments takes the
    role of the next segment that states one ("市工信局，市商务局按职责分工负责"), or, after a
    labelled one ("牵头单位：市发改委，市工信局"), continues it. The first segment that is
    neither starts the remark, which runs to the end.
    """
    lead, cooperating = [], []
    pending: list[str] = []  # names waiting for the role of a later segment
    pending_start = None
    labelled_role = None
    remark = ""
    for start, segment in ((m.start(), m.group(0)) for m in re.finditer(r"[^,;，；]+", content)):
        segment = segment.strip()
        role, names, labelled = _segment_role(segment)
        if role is None:
            names = _names(segment)
            if names and all(_is_body_name(n) for n in names):
                if labelled_role is not None:
                    (lead if labelled_role == "lead" else cooperating).extend(names)
                else:
                    pending.extend(names)
                    pending_start = start if pending_start is None else pending_start
                continue
            remark = content[start if pending_start is None else pending_start :]
            pending = []
            break
        names, together = names
        unread = [n for n in names + together if not _is_body_name(n)]
        if unread and all(_looks_like_org(n) for n in unread):
            raise NoticeParseError(
                gettext_noop(
                    "责任分工中的“%(name)s”不是可识别的部门名称"
                    "（应以局、委、办、中心等结尾，用“、”分隔）；请改写这一行后再导入。"
                ),
                line_number,
                name=unread[0],
            )
        if not names or unread:
            remark = content[start if pending_start is None else pending_start :]
            pending = []
            break
        (lead if role == "lead" else cooperating).extend(pending + names)
        cooperating.extend(together)
        pending, pending_start = [], None
        labelled_role = role if labelled else None
    if pending:  # names no role followed: a note, not departments
        remark = content[pending_start:]
    if not lead and not cooperating:
        return None
    return lead, cooperating, remark.strip(" ,;，；")


def _segment_role(segment: str):
    """(role, (names, cooperating with them), labelled) for a segment that states a role, else
    (None, None, False). "A会同B负责" gives A the role and B a cooperating one."""
    segment_norm = segment.translate(_HALF)
    for labelled, patterns in ((True, _ROLE_PREFIXED), (False, _ROLE_SUFFIXED)):
        for role, pattern in patterns:
            match = pattern.match(segment_norm)
            if match:
                # Folding to half-width maps character to character: spans agree.
                written = segment[match.start(1) : match.end(1)]
                principal, _, partners = written.partition(_TOGETHER_WITH)
                return role, (_names(principal), _names(partners)), labelled
    return None, None, False


def _names(text: str) -> list[str]:
    """The names in a list: "由" before and "等", "等部门", "等有关单位" after dropped."""
    names = []
    for name in re.split(r"[、/]", text):
        name = re.sub(r"^由", "", name.strip())
        name = re.sub(r"等(?:有关|相关)?(?:部门|单位)?$", "", name).strip()
        if name:
            names.append(name)
    return names


def _is_body_name(name: str) -> bool:
    """Whether `name` reads as one body or a group of bodies, not as words of a phrase."""
    if not _looks_like_org(name) or _NOT_IN_NAME.search(name):
        return False
    # A group (各镇街道, 市直有关部门) is shown as written and routed to nobody: any will do.
    return bool(_NAME_END.search(name) or is_generic_group(name) or _PLACE_NAME.match(name))


def _looks_like_org(name: str) -> bool:
    return 2 <= len(name) <= 30 and not re.search(r"[。:：，,；;]|均需|以下", name)
