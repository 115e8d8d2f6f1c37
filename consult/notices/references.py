"""Clause references in free text (第三条, 第（二）项第3点, 二(一)2), and the clauses they name.

Pure Python, no Django. Citizens who comment on the whole draft often say which clauses they
mean; `references_find` reads those citations as people write them and `references_resolve`
looks them up among a draft's clause labels (the importer's "二", "二(一)", "二(一)1",
"第三条", "第二章第一节").

What counts as a citation:

- 第 + a number + a unit (条 款 项 点 目 部分 章 节 段 …): 第三条, 第（二）项, 第3点, 第２部分;
  several in a row make one path: 第二部分第（一）项第3点, 第三条第二款;
- the draft's own compact numbering: 二(一)2, 二（一）, and a bracketed numeral inside a
  sentence: 建议将（三）中的…;
- lists and ranges: 第一、二条, 第三至五条, 第三条至第五条, （一）至（三）;
- a reference relative to the one before: 该条第（二）项, 其中第3点, and a list going on at a
  lower level: 第二部分第（一）项、第（三）项.

What does not: ordinals that are no unit of a draft (第一时间, 第二十届, 2024年第3季度, 全国第一),
document numbers (潍政办字〔2024〕3号), phone numbers, the citizen's own enumeration
(第一，… 第二，…; 一是…二是…; a line opening with （一）), and articles of other texts
(《安全生产法》第三条).

Resolution is conservative: a reference that fits several clauses suggests none.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K")


class Level:
    """The levels a reference names; the first six are the importer's clause levels."""

    CHAPTER = "chapter"  # 第一章
    SECTION = "section"  # 第一节
    ARTICLE = "article"  # 第一条
    CN = "cn"  # 一、 (第一部分)
    PAREN = "paren"  # （一）
    ARABIC = "arabic"  # 1.
    PARAGRAPH = "paragraph"  # 第二款, 第二段: inside a clause, never a clause of its own
    ITEM = "item"  # 第三点, 第二项: an item whose level the writer left open


# How deep each level sits, for telling a path (第三条第二款) from a list (（一）（二）). An item
# of open level may follow anything but the deepest.
_RANKS = {
    Level.CHAPTER: 0,
    Level.SECTION: 1,
    Level.CN: 2,
    Level.ARTICLE: 3,
    Level.PARAGRAPH: 4,
    Level.PAREN: 5,
    Level.ARABIC: 6,
    Level.ITEM: 5.5,
}
# An item of open level may stand for any of these.
_ITEM_LEVELS = frozenset({Level.CN, Level.PAREN, Level.ARABIC})


@dataclass(frozen=True)
class Step:
    """One number of a reference's path and the level it is at."""

    level: str
    number: int


@dataclass(frozen=True)
class Reference:
    """A citation found in a text: its path from the outermost level named, and where it is.

    `start`/`end` index the text as given (`text == source[start:end]`); a list or range
    (第一、二条) gives one reference per number, each with the span of the whole citation.
    """

    path: tuple[Step, ...]
    start: int
    end: int
    text: str


# Full-width forms folded one character for one, so spans in the folded text are spans in
# the text as written.
_FOLD = str.maketrans("（）［］，；：．　－～０１２３４５６７８９", "()[],;:. -~0123456789")
_CN = "一二三四五六七八九十百零〇两"
_CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}
_NUM = rf"(?:[{_CN}]{{1,4}}|\d{{1,3}})"
_NUM_BRACKETED = rf"(?:\(\s*{_NUM}\s*\))"
_NUM_ANY = rf"(?:{_NUM_BRACKETED}|{_NUM})"
_LIST_SEPARATOR = r"(?:、|,|和|及|与|或)"
_RANGE_SEPARATOR = r"(?:至|到|~|-|—)"
_UNITS = (
    # Longest first; each with what may not follow it (第三条路, 第一节课, 第二项目).
    r"大部分|部分|大项|小项|大点|小点|条款"
    r"|章(?!程)|节(?![课日假点能约])|条(?![路线腿街河鱼船件心])|款(?!式|项)|项(?!目)"
    r"|点(?![钟半多])|目(?!标|录|前)|段(?![时路落])"
)
_ORDINAL = re.compile(
    rf"第\s*(?P<numbers>{_NUM_ANY}(?:\s*(?:{_LIST_SEPARATOR}|{_RANGE_SEPARATOR})\s*第?\s*"
    rf"{_NUM_ANY}){{0,19}})\s*(?P<unit>{_UNITS})"
)
_BRACKETED = re.compile(rf"\(\s*(?P<number>[{_CN}]{{1,3}})\s*\)(?![班级])(?P<unit>\s*项(?!目))?")
# 二(一): a chinese numeral directly before a bracketed one (not 高三(一)班).
_COMPACT_LEAD = re.compile(
    rf"(?<![{_CN}高初周期])(?P<number>[{_CN}]{{1,3}})(?=\(\s*[{_CN}]{{1,3}}\s*\)(?![班级]))"
)
# 二(一)2: digits directly after the bracket (not (一)2024年, not (一)2.5万元).
_COMPACT_TAIL = re.compile(r"(?<=\))(?P<number>\d{1,2})(?![\d%.年月日号个万亿元岁人家次期届])")
_RELATIVE = re.compile(
    r"(?:(?:该|本|此|同|上述|前述)(?P<unit>条款|条(?!例|件)|款|项(?!目)|点|部分|章(?!程)|节|目)"
    r"|其中)"
)
_CHAIN_GAP = re.compile(r"\s*(?:中的|的|之|中)?\s*")
_LIST_GAP = re.compile(rf"\s*(?:以及|或者|{_LIST_SEPARATOR})\s*")
_RANGE_GAP = re.compile(rf"\s*{_RANGE_SEPARATOR}\s*")
# Where a sentence (or a line) starts: what the citizen's own enumeration follows.
_SENTENCE_ENDS = "\n。!?！？;:,"
_ENUMERATION_END = re.compile(r"\s*(?:[,:、]|是)")
# Another text named just before: 《安全生产法》第三条, 民法典第十条 (not 本法, not the draft).
_TITLE_BEFORE = re.compile(r"《([^《》]{1,80})》\s*(?:的)?\s*$")
_LAW_BEFORE = re.compile(r"(?<![本该此办])法(?:典)?\s*(?:的)?\s*$")
_MOST_IN_A_RANGE = 20
_LONGEST_PATH = 6  # 第二章第一节第三条第二款第（一）项第1目, and the relative word before it
_ARABIC_ONLY = re.compile(r"[\d\s、,和及与或至到~\-—第]+")
_CITATION_GOES_ON = re.compile(r"\s*(?:中|的|里|项|所|提到|提及|至|到|、|和)")

_UNIT_LEVELS = {
    "章": Level.CHAPTER,
    "节": Level.SECTION,
    "条": Level.ARTICLE,
    "条款": Level.ARTICLE,
    "款": Level.PARAGRAPH,
    "段": Level.PARAGRAPH,
    "部分": Level.CN,
    "大部分": Level.CN,
    "大项": Level.CN,
    "大点": Level.CN,
    "项": Level.ITEM,
    "点": Level.ITEM,
    "小项": Level.ARABIC,
    "小点": Level.ARABIC,
    "目": Level.ARABIC,
}


def numeral_value(text: str) -> int | None:
    """12 from "12", "十二" or "一二"; None for what is no number (or zero)."""
    text = text.strip()
    if text.isdigit():
        return int(text) or None
    if not text or any(ch not in _CN_DIGITS and ch not in "十百" for ch in text):
        return None
    if all(ch in _CN_DIGITS for ch in text):  # 一二 as written digit by digit
        return int("".join(str(_CN_DIGITS[ch]) for ch in text)) or None
    total, current = 0, 0
    for ch in text:
        if ch in "十百":
            total += (current or 1) * (10 if ch == "十" else 100)
            current = 0
        else:
            current = _CN_DIGITS[ch]
    return (total + current) or None


@dataclass
class _Atom:
    """One numbered piece of a citation: its level and the numbers it names (a list or range)."""

    start: int
    end: int
    level: str
    numbers: list[int]
    kind: str  # "ordinal" (第…), "bracketed", "lead" (二 of 二(一)), "tail" (2 of 二(一)2)
    relative: str | None = None  # 该条, 其中: the level it goes back to ("" for the whole)


def references_find(text: str) -> list[Reference]:
    """Every clause reference in `text`, in the order written. Never raises."""
    folded = text.translate(_FOLD)
    atoms = _atoms(folded)
    references: list[Reference] = []
    previous: tuple[Step, ...] | None = None
    previous_start = previous_end = 0
    enumerations: dict[str, bool] = {}  # unit → whether the text enumerates its own points
    i = 0
    while i < len(atoms):
        chain = [atoms[i]]
        while (
            i + 1 < len(atoms)
            and len(chain) < _LONGEST_PATH
            and _joins(folded, chain[-1], atoms[i + 1])
        ):
            i += 1
            chain.append(atoms[i])
        i += 1
        start = chain[0].start
        relative = chain[0].relative
        if relative is not None:
            chain = chain[1:]  # 该条, 其中: the citation goes on from the one before
            if not chain:
                continue
        if not _is_citation(folded, chain, relative, enumerations):
            previous = None
            continue
        end = chain[-1].end
        paths = _paths(chain)
        if previous is not None and paths:
            gap = folded[previous_end:start]
            if relative is not None:
                paths = [_inherit_relative(previous, path, relative) for path in paths]
            elif _RANGE_GAP.fullmatch(gap) and len(paths) == 1:
                between = _range_from(previous, paths[0])
                if between:
                    paths, start = between, previous_start
            elif _LIST_GAP.fullmatch(gap):
                paths = [_inherit_list(previous, path) for path in paths]
        paths = [path for path in paths if len(path) <= _LONGEST_PATH]
        for path in paths:
            references.append(Reference(path, start, end, text[start:end]))
        if paths:
            previous, previous_start, previous_end = paths[-1], start, end
    return references


def _atoms(folded: str) -> list[_Atom]:
    atoms = []
    for match in _ORDINAL.finditer(folded):
        atoms.append(_ordinal_atom(match))
    for match in _BRACKETED.finditer(folded):
        number = numeral_value(match.group("number"))
        if number:
            atoms.append(_Atom(match.start(), match.end(), Level.PAREN, [number], "bracketed"))
    for match in _COMPACT_LEAD.finditer(folded):
        number = numeral_value(match.group("number"))
        if number:
            atoms.append(_Atom(match.start(), match.end(), Level.CN, [number], "lead"))
    for match in _COMPACT_TAIL.finditer(folded):
        atoms.append(
            _Atom(match.start(), match.end(), Level.ARABIC, [int(match.group("number"))], "tail")
        )
    for match in _RELATIVE.finditer(folded):
        level = _UNIT_LEVELS.get(match.group("unit") or "", "")
        atoms.append(_Atom(match.start(), match.end(), level, [], "relative", relative=level))
    atoms = [atom for atom in atoms if atom.kind == "relative" or atom.numbers]
    atoms.sort(key=lambda atom: (atom.start, -atom.end))
    # Overlaps (第(二)项 is no bracketed atom; 本项 inside 第一项) keep the first, longest atom.
    kept: list[_Atom] = []
    for atom in atoms:
        if kept and atom.start < kept[-1].end:
            continue
        kept.append(atom)
    return kept


def _ordinal_atom(match: re.Match) -> _Atom:
    unit = match.group("unit")
    written = match.group("numbers")
    bracketed = "(" in written
    level = _UNIT_LEVELS[unit]
    if bracketed and level in (Level.ITEM, Level.ARABIC):
        level = Level.PAREN
    elif (
        level == Level.ITEM
        and unit == "点"
        and re.fullmatch(r"[\d\s、,和及与或至到~\-—第]+", written)
    ):
        level = Level.ARABIC  # 第3点: the draft's "3."
    numbers: list[int] = []
    parts = re.split(rf"\s*({_LIST_SEPARATOR}|{_RANGE_SEPARATOR})\s*", written)
    values = [numeral_value(part.strip("()第 ")) for part in parts[::2]]
    separators = parts[1::2]
    if any(value is None for value in values):
        return _Atom(match.start(), match.end(), level, [], "ordinal")
    numbers.append(values[0])
    for separator, value in zip(separators, values[1:], strict=True):
        if re.fullmatch(_RANGE_SEPARATOR, separator) and numbers[-1] < value:
            numbers.extend(range(numbers[-1] + 1, value + 1)[:_MOST_IN_A_RANGE])
        else:
            numbers.append(value)
    return _Atom(match.start(), match.end(), level, numbers, "ordinal")


def _joins(folded: str, before: _Atom, after: _Atom) -> bool:
    """Whether `after` continues the path `before` started (二(一)2, 第三条第二款, 该条第…).

    A path goes down a level at each step: （一）（二） are two citations, not one.
    """
    gap = folded[before.end : after.start]
    if after.kind in ("relative", "lead") or before.kind == "tail":
        return False
    if after.kind == "tail":
        return before.kind == "bracketed" and gap == ""
    if before.kind == "lead":
        return after.kind == "bracketed" and gap == ""
    if before.kind != "relative" and not _RANKS[before.level] < _RANKS[after.level]:
        return False
    return _CHAIN_GAP.fullmatch(gap) is not None


def _is_citation(
    folded: str, chain: list[_Atom], relative: str | None, enumerations: dict[str, bool]
) -> bool:
    first = chain[0]
    if first.kind == "lead" and len(chain) == 1:
        return False
    if first.kind == "tail":
        return False
    if relative is None and _cites_another_text(folded[max(0, first.start - 100) : first.start]):
        return False
    if len(chain) > 1 or relative is not None:
        return True
    starts_sentence = _starts_sentence(folded, first.start)
    if first.kind == "bracketed":
        # A line or sentence opening with （一） is the citizen's own heading, unless it goes
        # on like a citation: （三）中…, （三）项…, （一）至（三）….
        follows = folded[first.end : first.end + 2]
        return not starts_sentence or bool(
            re.match(r"\s*(?:中|的|里|项|所|提|至|到|、|和)", follows)
        )
    if starts_sentence and _ENUMERATION_END.match(folded, first.end):
        # 第一点，…。第二点，…: the citizen's own points, when they start from the first.
        return not _own_enumeration(folded, folded[first.start : first.end], enumerations)
    return True


def _cites_another_text(before: str) -> bool:
    title = _TITLE_BEFORE.search(before)
    if title:
        return not re.search(r"征求意见稿|草案|本", title.group(1))
    return _LAW_BEFORE.search(before) is not None


def _starts_sentence(folded: str, position: int) -> bool:
    while position > 0 and folded[position - 1] in " \t\u3000\xa0":
        position -= 1
    return position == 0 or folded[position - 1] in _SENTENCE_ENDS


def _own_enumeration(folded: str, written: str, known: dict[str, bool]) -> bool:
    unit = re.sub(rf"^第\s*{_NUM_ANY}\s*", "", written)
    if unit in known:
        return known[unit]
    opening = re.compile(
        rf"(?:^|[\n。!?！？;:])\s*第\s*(?:一|1)\s*{re.escape(unit)}\s*(?:[,:、]|是)"
    )
    known[unit] = opening.search(folded) is not None
    return known[unit]


def _paths(chain: list[_Atom]) -> list[tuple[Step, ...]]:
    """One path per combination of the numbers a chain lists (第一、二条: two paths)."""
    paths: list[tuple[Step, ...]] = [()]
    for atom in chain:
        paths = [(*path, Step(atom.level, n)) for path in paths for n in atom.numbers]
        if len(paths) > _MOST_IN_A_RANGE:
            return []
    return paths


def _inherit_relative(previous: tuple[Step, ...], path: tuple[Step, ...], level: str):
    """该条第（二）项 after 第三条: the earlier path up to the level named, then this one."""
    if level:
        for i in range(len(previous) - 1, -1, -1):
            if previous[i].level == level or (
                level == Level.ITEM and previous[i].level in _ITEM_LEVELS
            ):
                return previous[: i + 1] + path
    return previous + path


def _inherit_list(previous: tuple[Step, ...], path: tuple[Step, ...]):
    """第二部分第（一）项、第（三）项: a list going on at a lower level keeps what led to it."""
    for i, step in enumerate(previous):
        if i > 0 and step.level == path[0].level:
            return previous[:i] + path
    return path


def _range_from(previous: tuple[Step, ...], path: tuple[Step, ...]):
    """（一）至（三） after （一）: the numbers in between, on the same path."""
    inherited = _inherit_list(previous, path)
    if len(inherited) != len(previous) or inherited[:-1] != previous[:-1]:
        return None
    first, last = previous[-1], inherited[-1]
    if first.level != last.level or not first.number < last.number:
        return None
    numbers = range(first.number + 1, last.number + 1)[:_MOST_IN_A_RANGE]
    return [(*previous[:-1], Step(last.level, n)) for n in numbers]


# Resolution -------------------------------------------------------------------------------

_LABEL_PART = re.compile(
    rf"第(?P<chapter>{_NUM})章|第(?P<section>{_NUM})节|第(?P<article>{_NUM})条"
    rf"|\((?P<paren>[{_CN}\d]{{1,4}})\)|(?P<arabic>\d{{1,3}})|(?P<cn>[{_CN}]{{1,4}})"
)


def label_path(label: str) -> tuple[Step, ...] | None:
    """The path of a clause label as the importer writes it ("二(一)1", "第二章第一节",
    "第三条"); None for a label it cannot read."""
    folded = re.sub(r"\s|[、.]", "", label.translate(_FOLD))
    steps = []
    position = 0
    while position < len(folded):
        match = _LABEL_PART.match(folded, position)
        if match is None:
            return None
        level = match.lastgroup
        number = numeral_value(match.group(level))
        if number is None:
            return None
        steps.append(Step(level, number))
        position = match.end()
    return tuple(steps) or None


class ClauseIndex(Generic[K]):
    """A draft's clauses by the path of their labels, for resolving references."""

    def __init__(self, labels: Mapping[str, K] | Iterable[tuple[str, K]]):
        pairs = labels.items() if isinstance(labels, Mapping) else labels
        self.entries: list[tuple[tuple[Step, ...], K]] = []
        for label, key in pairs:
            path = label_path(label)
            if path is not None:
                self.entries.append((path, key))
        self.has_articles = any(
            step.level == Level.ARTICLE for path, _key in self.entries for step in path
        )
        self.parents = {path[:-1] for path, _key in self.entries}

    def resolve(self, reference: Reference) -> K | None:
        """The one clause the reference names, or None when it names none or several."""
        path = self._usable(reference.path)
        if not path:
            return None
        found = self._matching(path)
        written = [step.level for step in reference.path if step.level != Level.PARAGRAPH]
        if not self.has_articles and written == [Level.ARTICLE]:
            # 第三条 in a draft without articles: people call its top-level items 条.
            found = [(candidate, key) for candidate, key in found if len(candidate) == 1]
        if len(found) == 1:
            return found[0][1]
        if not found and len(path) > 1:
            # 第三条第（二）项 where the article's items are in its text, not clauses of their
            # own: the article is meant. Only when the clause found has no numbered children.
            enclosing = self._matching(path[:-1])
            if len(enclosing) == 1 and enclosing[0][0] not in self.parents:
                return enclosing[0][1]
        return None

    def _usable(self, path: tuple[Step, ...]) -> tuple[Step, ...]:
        steps = [step for step in path if step.level != Level.PARAGRAPH]
        if self.has_articles:
            # Articles are numbered through the whole draft: what leads to one adds nothing.
            articles = [i for i, step in enumerate(steps) if step.level == Level.ARTICLE]
            if articles:
                steps = steps[articles[-1] :]
        else:
            steps = [
                Step(Level.ITEM, step.number) if step.level == Level.ARTICLE else step
                for step in steps
            ]
        return tuple(steps)

    def _matching(self, path: tuple[Step, ...]) -> list[tuple[tuple[Step, ...], K]]:
        return [(candidate, key) for candidate, key in self.entries if _fits(path, candidate)]


def _fits(path: tuple[Step, ...], candidate: tuple[Step, ...]) -> bool:
    """The reference names this clause: its last step is the clause's own number, and the
    steps before it name some of the clause's ancestors, in order (the outer ones may be left
    out: 第（一）项 for 二(一))."""
    if not path or len(path) > len(candidate) or not _same(path[-1], candidate[-1]):
        return False
    ancestors = iter(candidate[:-1])
    return all(any(_same(step, ancestor) for ancestor in ancestors) for step in path[:-1])


def _same(step: Step, clause_step: Step) -> bool:
    if step.number != clause_step.number:
        return False
    if step.level == Level.ITEM:
        return clause_step.level in _ITEM_LEVELS
    return step.level == clause_step.level


def references_resolve(
    references: Iterable[Reference], index: "ClauseIndex[K]"
) -> dict[K, list[Reference]]:
    """The clauses the references name, in the order first cited, each with its citations."""
    cited: dict[K, list[Reference]] = {}
    for reference in references:
        key = index.resolve(reference)
        if key is not None:
            cited.setdefault(key, []).append(reference)
    return cited


def clauses_cited(text: str, labels: Mapping[str, K] | Iterable[tuple[str, K]]) -> list[K]:
    """The keys of the clauses `text` cites, in the order first cited."""
    return list(references_resolve(references_find(text), ClauseIndex(labels)))
