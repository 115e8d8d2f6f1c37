"""Properties of the comment period a notice states, from the sentence to the stored instants.

Each example writes a period the way notices do ("请于11月10日前反馈", "反馈截止时间为…",
"征求意见时间为…至…"), with or without years, in half- or full-width digits, signs a notice
with a publication day, and checks what the parser reads against the rule it documents
(`notice_deadline`): a day without its year is the first such day on or after the
publication day, but one shortly before it is that day of its year (an opening taken, a
closing refused); a closing day without a year follows its opening day; an opening day without
a year, before a closing day with one, is the last such day before it. Imported, the period
runs from the opening day's 00:00:00 to the closing day's 23:59:59, Beijing time.

Nothing here reads the real clock: every "today" is generated and passed in or travelled to.
"""

import contextlib
import datetime
import os
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from consult.notices.importer import NoticeImportError, notice_import
from consult.notices.parser import NoticeParseError, notice_deadline, parse_notice

# Every "today" is generated and passed in or travelled to: a run at another clock checks
# nothing more.
pytestmark = pytest.mark.clock_free

BEIJING = ZoneInfo("Asia/Shanghai")
FIRST_YEAR, LAST_YEAR = 2000, 2098
DEADLINE_LINE = 3  # the notice below puts the sentence on its third line

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def notice(sentence: str, published_on: datetime.date) -> str:
    signature = (
        f"潍坊市发展和改革委员会\n{published_on.year}年{published_on.month}月{published_on.day}日"
    )
    return (
        "关于对《测试方案（征求意见稿）》征求意见的通知\n\n"
        f"{sentence}\n\n{signature}\n\n一、总体要求\n内容。\n"
    )


# --- writing days -----------------------------------------------------------------------------


def write_day(year: int | None, month: int, day: int, style: str) -> str:
    """A day as notices write it; `year` None leaves it out."""
    if style == "padded":
        parts = (f"{year}年" if year else "") + f"{month:02d}月{day:02d}日"
    elif style == "spaced":
        parts = (f"{year} 年 " if year else "") + f"{month} 月 {day} 日"
    elif style == "ideographic-spaced":
        parts = (f"{year}\u3000年" if year else "") + f"{month}\u3000月{day}\u3000日"
    else:
        parts = (f"{year}年" if year else "") + f"{month}月{day}日"
    if style == "full-width":
        parts = parts.translate(FULL_WIDTH_DIGITS)
    return parts


STYLES = st.sampled_from(["plain", "padded", "spaced", "ideographic-spaced", "full-width"])

CLOSING_PHRASES = [
    "请于{day}前反馈。",
    "请各单位于{day}之前将书面意见反馈至市发改委。",
    "请在{day}17:00前以电子邮件形式反馈。",
    "意见请于{day}17时30分以前反馈。",
    "反馈截止时间为{day}。",
    "截止日期：{day}",
    "意见反馈截至{day}。",
    "征求意见截止时间：{day}。",
]
# A notice's closing time of day: comments are taken until the second before it.
CLOSING_SECONDS = {"17:00前": datetime.time(16, 59, 59), "17时30分以前": datetime.time(17, 29, 59)}
PERIOD_PHRASES = [
    "征求意见时间为{opens}至{closes}。",
    "征求意见时间：自{opens}起至{closes}止。",
    "公示期：{opens}—{closes}。",
    "意见反馈时间{opens}到{closes}。",
    "征求意见期限为{opens}～{closes}。",
    "征求意见时间：{opens}－{closes}。",
]


def leap_day(year: int) -> datetime.date:
    return datetime.date(year - year % 4, 2, 29)  # 2000 is a leap year; 2100 is out of range


YEARS = st.integers(FIRST_YEAR, LAST_YEAR)
EDGE_DAYS = st.one_of(
    YEARS.map(leap_day),
    st.builds(datetime.date, YEARS, st.just(12), st.just(31)),
    st.builds(datetime.date, YEARS, st.just(1), st.just(1)),
    st.builds(datetime.date, YEARS, st.just(2), st.just(28)),
    st.builds(datetime.date, YEARS, st.just(3), st.just(1)),
)
DAYS = st.one_of(
    st.dates(datetime.date(FIRST_YEAR, 1, 1), datetime.date(LAST_YEAR, 12, 31)), EDGE_DAYS
)
# Mostly within the year a notice gives for comments; sometimes longer, where a day written
# without its year can only mean its first occurrence.
OFFSETS = st.one_of(st.integers(0, 60), st.integers(0, 800))


# --- the rule, written out independently of the parser -----------------------------------------


def existing(year, month, day):
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def first_on_or_after(base: datetime.date, month: int, day: int) -> datetime.date | None:
    candidates = [existing(y, month, day) for y in (base.year, base.year + 1)]
    return next((c for c in candidates if c is not None and c >= base), None)


def last_on_or_before(limit: datetime.date, month: int, day: int) -> datetime.date | None:
    candidates = [existing(y, month, day) for y in (limit.year, limit.year - 1)]
    return next((c for c in candidates if c is not None and c <= limit), None)


# A day without its year up to this long before the notice's day is that day of its year: an
# opening is taken, a closing refused (parser.RECENTLY_PAST, written out again here).
RECENTLY_PAST = datetime.timedelta(days=92)
PAST_CLOSE = "past"
# A year-less close read in the year after its opening, the period longer than half a year:
# its two days written the wrong way round ("11月10日至10月11日"), refused.
REVERSED = "reversed"
LONGEST_ROLLED_PERIOD = datetime.timedelta(days=183)  # parser's, written out again here


def read_from_publication(published_on, month, day, *, opening):
    """A year-less day counted from the publication day: that day of its year if it fell
    shortly before (an opening), refused (a closing); else the first on or after."""
    for year in (published_on.year, published_on.year - 1):
        day_then = existing(year, month, day)
        if day_then is not None and published_on - RECENTLY_PAST <= day_then < published_on:
            return day_then if opening else PAST_CLOSE
    return first_on_or_after(published_on, month, day)


def expected_period(published_on, opens, closes, opens_year, closes_year):
    """(opens_on, closes_on) the rule gives, None where it finds no such day, PAST_CLOSE for
    a closing day it refuses as gone by."""
    if opens is None:
        if closes_year:
            return None, closes
        return None, read_from_publication(published_on, *month_day(closes), opening=False)
    if closes_year and not opens_year:
        return last_on_or_before(closes, *month_day(opens)), closes
    read_opens = (
        opens
        if opens_year
        else read_from_publication(published_on, *month_day(opens), opening=True)
    )
    if read_opens is None:
        return None, None
    read_closes = closes if closes_year else first_on_or_after(read_opens, *month_day(closes))
    if not closes_year and read_closes is not None and read_closes < published_on:
        return read_opens, PAST_CLOSE  # a period over before the notice was signed
    if (
        not closes_year
        and read_closes is not None
        and read_closes.year > read_opens.year
        and read_closes - read_opens > LONGEST_ROLLED_PERIOD
    ):
        return read_opens, REVERSED
    return read_opens, read_closes


def refused(expected, opens) -> bool:
    """Whether the rule finds no day for something the sentence wrote, or refuses it."""
    expected_opens, expected_closes = expected
    return expected_closes in (None, PAST_CLOSE, REVERSED) or (
        opens is not None and expected_opens is None
    )


def month_day(day: datetime.date) -> tuple[int, int]:
    return day.month, day.day


@st.composite
def stated_periods(draw, *, ranges=None):
    """(sentence, published_on, meant_opens, meant_closes, opens_year, closes_year)."""
    if draw(st.booleans()):
        published_on = draw(DAYS)
        opens = published_on + datetime.timedelta(days=draw(OFFSETS))
    else:  # an edge day as the opening (or only) day, published shortly before
        opens = draw(EDGE_DAYS)
        published_on = opens - datetime.timedelta(days=draw(OFFSETS))
    is_range = draw(st.booleans()) if ranges is None else ranges
    style = draw(STYLES)
    if not is_range:
        closes_year = draw(st.booleans())
        phrase = draw(st.sampled_from(CLOSING_PHRASES))
        written = write_day(opens.year if closes_year else None, opens.month, opens.day, style)
        return phrase.format(day=written), published_on, None, opens, False, closes_year
    closes = opens + datetime.timedelta(days=draw(OFFSETS))
    opens_year, closes_year = draw(st.booleans()), draw(st.booleans())
    phrase = draw(st.sampled_from(PERIOD_PHRASES))
    sentence = phrase.format(
        opens=write_day(opens.year if opens_year else None, opens.month, opens.day, style),
        closes=write_day(closes.year if closes_year else None, closes.month, closes.day, style),
    )
    return sentence, published_on, opens, closes, opens_year, closes_year


def a_year_or_less(earlier, later):
    return later - earlier < datetime.timedelta(days=365)


def read_as_meant_from_publication(published_on, day):
    """Whether a year-less `day` is read as meant, counted from the publication day: within a
    year of it, less the days before it that are read in their own year."""
    return day - published_on < datetime.timedelta(days=365) - RECENTLY_PAST


# --- the parser ---------------------------------------------------------------------------------


@settings(max_examples=1000, deadline=None)
@given(stated_periods())
# Found by this property: a year-less 2月29日 read in the December before a leap year was
# looked up in the non-leap year only and refused ("日期不存在：2023年2月29日").
@example(
    (
        "请于2月29日前反馈。",
        datetime.date(2023, 12, 20),
        None,
        datetime.date(2024, 2, 29),
        False,
        False,
    )
)
# Found by this property: the opening's year was used for a year-less closing day, so a period
# over the new year closed before it opened (2024-12-20 to 2024-01-10).
@example(
    (
        "征求意见时间为2024年12月20日至1月10日。",
        datetime.date(2024, 12, 10),
        datetime.date(2024, 12, 20),
        datetime.date(2025, 1, 10),
        True,
        False,
    )
)
def test_the_stated_period_is_read_by_the_documented_rule(case):
    sentence, published_on, opens, closes, opens_year, closes_year = case
    expected = expected_period(published_on, opens, closes, opens_year, closes_year)

    if refused(expected, opens):
        with pytest.raises(NoticeParseError) as error:
            parse_notice(notice(sentence, published_on))
        assert error.value.line == DEADLINE_LINE
        if expected[1] == PAST_CLOSE:
            assert "之前" in error.value.message and "写明年份" in error.value.message
        elif expected[1] == REVERSED:
            assert "写反" in error.value.message
        else:
            assert "没有" in error.value.message
        return
    parsed = parse_notice(notice(sentence, published_on))

    assert parsed.published_on == published_on
    assert (parsed.opens_on, parsed.closes_on) == expected
    # Within the year a notice gives, a day written without its year is the day meant.
    if opens is None:
        if closes_year or read_as_meant_from_publication(published_on, closes):
            assert parsed.closes_on == closes
    elif (opens_year or read_as_meant_from_publication(published_on, opens)) and (
        closes_year or a_year_or_less(opens, closes)
    ):
        assert parsed.closes_on == closes
        if opens_year or not closes_year or a_year_or_less(opens, closes):
            assert parsed.opens_on == opens


IMPOSSIBLE_DAYS = st.one_of(
    st.sampled_from([(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)]),
    st.tuples(st.sampled_from([0, 13]), st.integers(1, 28)),
    st.tuples(st.integers(1, 12), st.sampled_from([0, 32])),
)
NON_LEAP_YEARS = YEARS.filter(lambda y: y % 4 != 0)


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.tuples(st.one_of(st.none(), st.integers(FIRST_YEAR, LAST_YEAR)), IMPOSSIBLE_DAYS),
        st.tuples(NON_LEAP_YEARS, st.just((2, 29))),
    ),
    st.sampled_from(CLOSING_PHRASES + PERIOD_PHRASES),
    DAYS,
    st.booleans(),
    STYLES,
)
@example((2025, (2, 30)), "请于{day}前反馈。", datetime.date(2025, 1, 20), False, "plain")
@example((2023, (2, 29)), "反馈截止时间为{day}。", datetime.date(2023, 1, 20), False, "plain")
@example((None, (2, 30)), "请于{day}前反馈。", datetime.date(2025, 1, 20), False, "plain")
def test_a_day_that_does_not_exist_is_refused_naming_it_and_its_line(
    impossible, phrase, published_on, impossible_is_opening, style
):
    year, (month, day) = impossible
    written = write_day(year, month, day, style)
    valid = write_day(published_on.year, published_on.month, published_on.day, style)
    if "{day}" in phrase:
        sentence = phrase.format(day=written)
    elif impossible_is_opening:
        sentence = phrase.format(opens=written, closes=valid)
    else:
        sentence = phrase.format(opens=valid, closes=written)

    with pytest.raises(NoticeParseError) as error:
        parse_notice(notice(sentence, published_on))

    assert error.value.line == DEADLINE_LINE
    assert f"{month}月{day}日" in error.value.message
    assert f"第{DEADLINE_LINE}行" in str(error.value)


# --- today, when the notice gives no publication day ------------------------------------------


@contextlib.contextmanager
def host_time_zone(name: str):
    """The machine's own zone (what `date.today()` follows), whatever Django set it to."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


# A fixed offset, not ZoneInfo: time-machine would otherwise switch the host's zone to Beijing
# too, and hide the difference this test is about.
AT_BEIJING = datetime.timezone(datetime.timedelta(hours=8), "Beijing")


@pytest.mark.parametrize("host_zone", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
@pytest.mark.parametrize(
    ("instant", "sentence", "closes_on"),
    [
        # 2030-02-28 23:30 Beijing is 15:30 UTC the same day, but 2030-03-01 in Kiritimati.
        (
            datetime.datetime(2030, 2, 28, 23, 30, tzinfo=AT_BEIJING),
            "请于2月28日前反馈。",
            (2030, 2, 28),
        ),
        # 2030-03-01 07:30 Beijing is 2030-02-28 23:30 UTC: February 28 has passed in Beijing.
        (
            datetime.datetime(2030, 3, 1, 7, 30, tzinfo=AT_BEIJING),
            "请于2月28日前反馈。",
            (2031, 2, 28),
        ),
        # 2031-01-01 07:30 Beijing is still 2030-12-31 in UTC and Los Angeles.
        (
            datetime.datetime(2031, 1, 1, 7, 30, tzinfo=AT_BEIJING),
            "请于12月31日前反馈。",
            (2031, 12, 31),
        ),
        (
            datetime.datetime(2031, 1, 1, 7, 30, tzinfo=AT_BEIJING),
            "请于1月1日前反馈。",
            (2031, 1, 1),
        ),
    ],
)
def test_without_a_publication_day_a_year_less_deadline_counts_from_beijing_today(
    host_zone, instant, sentence, closes_on
):
    with host_time_zone(host_zone), time_machine.travel(instant, tick=False):
        assert notice_deadline(sentence) == (None, datetime.date(*closes_on))


def test_a_given_today_or_publication_day_wins_over_the_clock():
    with time_machine.travel(datetime.datetime(2030, 3, 1, 7, 30, tzinfo=AT_BEIJING), tick=False):
        assert notice_deadline("请于2月28日前反馈。", today=datetime.date(2030, 1, 5)) == (
            None,
            datetime.date(2030, 2, 28),
        )
        assert notice_deadline(
            "请于2月28日前反馈。",
            published_on=datetime.date(2029, 12, 1),
            today=datetime.date(2030, 3, 1),
        ) == (None, datetime.date(2030, 2, 28))


# --- imported: the instants, exact to the second ----------------------------------------------


@contextlib.contextmanager
def rolled_back():
    """One example's writes, undone after it (a savepoint inside the test's transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def beijing(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, at, tzinfo=BEIJING)


@pytest.mark.django_db
@settings(
    max_examples=500,
    deadline=None,
    # The database fixture is set up once; each example undoes its own writes.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stated_periods())
@example(
    (
        "请于2月29日前反馈。",
        datetime.date(2023, 12, 20),
        None,
        datetime.date(2024, 2, 29),
        False,
        False,
    )
)
@example(
    (
        "请于12月31日前反馈。",
        datetime.date(2024, 12, 31),
        None,
        datetime.date(2024, 12, 31),
        False,
        False,
    )
)
def test_an_imported_period_runs_from_midnight_to_its_closing_second_beijing_time(case):
    """To 23:59:59 of the closing day, or to the second before the time a notice gives."""
    sentence, published_on, opens, closes, opens_year, closes_year = case
    expected_opens, expected_closes = expected_period(
        published_on, opens, closes, opens_year, closes_year
    )
    source = notice(sentence, published_on)
    if refused((expected_opens, expected_closes), opens):
        with pytest.raises(NoticeParseError):
            parse_notice(source)
        return
    parsed = parse_notice(source)
    first_day = expected_opens or published_on

    with rolled_back():
        if first_day > expected_closes:
            with pytest.raises(NoticeImportError):
                notice_import(parsed=parsed, slug="property")
            return
        consultation = notice_import(parsed=parsed, slug="property")
        consultation.refresh_from_db()

    last_second = next(
        (at for said, at in CLOSING_SECONDS.items() if said in sentence), datetime.time(23, 59, 59)
    )
    assert consultation.closes_at == beijing(expected_closes, last_second)
    assert consultation.opens_at == beijing(first_day, datetime.time(0, 0, 0))
    assert consultation.closes_at.microsecond == 0
