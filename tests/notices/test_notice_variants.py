"""Notices written a little differently from Weifang's: each variant is read as it is meant,
or refused naming its line, never turned into a department nobody answers for."""

import datetime
import json
import zoneinfo
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from consult.consultations.models import ClauseResponsibility, Department
from consult.consultations.services import departments_load
from consult.notices.importer import notice_import
from consult.notices.parser import NoticeParseError, parse_notice

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ROOT / "fixtures" / "weifang-departments.json"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
ITEM_LINE = 9  # the notice below puts the first item on its ninth line


def notice(items: str, deadline: str = "请于11月10日前反馈至市海渔局。") -> str:
    return (
        "关于对《某某工作方案(征求意见稿)》征求意见的通知\n"
        f"现公开征求意见,{deadline}\n"
        "潍坊市海洋发展和渔业局\n"
        "2024年10月11日\n"
        "附件:\n"
        "某某工作方案\n"
        "(征求意见稿)\n"
        "一、主要任务\n"
        f"{items}"
    )


def item(parenthesis: str) -> str:
    return f"1.甲项。正文。{parenthesis}\n"


def first_item(text: str):
    return parse_notice(text).clauses[0].children[0]


# 1 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["等部门", "等单位", "等有关部门", "等"])
def test_a_trailing_等部门_is_not_part_of_the_last_department_s_name(group):
    """ "市工信局、市海渔局等部门" names 市海渔局: "市海渔局等部门" was a new department with no
    mailbox, and 市海渔局 never heard of the comments."""
    clause = first_item(notice(item(f"（市发改委牵头，市工信局、市海渔局{group}按职责分工负责）")))
    assert (clause.lead, clause.cooperating) == (["市发改委"], ["市工信局", "市海渔局"])


# 2 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parenthesis", "lead", "cooperating"),
    [
        ("（市发改委、市海渔局分别牵头）", ["市发改委", "市海渔局"], []),
        ("（市发改委牵头落实，市工信局配合）", ["市发改委"], ["市工信局"]),
        ("（市发改委牵头，市工信局按职责分工落实）", ["市发改委"], ["市工信局"]),
        ("（市发改委、市商务局分别负责）", ["市发改委", "市商务局"], []),
        # 会同: A does it together with B, A in the lead.
        ("（市发改委会同市海渔局负责）", ["市发改委"], ["市海渔局"]),
    ],
)
def test_linking_words_are_read_as_roles_not_as_names(parenthesis, lead, cooperating):
    clause = first_item(notice(item(parenthesis)))
    assert (clause.lead, clause.cooperating) == (lead, cooperating)
    assert parenthesis[1:5] not in clause.text


def test_a_name_that_is_not_a_department_s_fails_naming_its_line():
    """Not a department "具体事项由市里统一" created with no mailbox: the import stops."""
    with pytest.raises(NoticeParseError) as error:
        parse_notice(notice(item("（市发改委牵头，具体事项由市里统一负责）")))
    assert error.value.line == ITEM_LINE
    assert "具体事项由市里统一" in str(error.value)


# 3 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parenthesis", "lead", "cooperating"),
    [
        (
            "（市发改委牵头，市工信局，市商务局按职责分工负责）",
            ["市发改委"],
            ["市工信局", "市商务局"],
        ),
        ("（市发改委，市商务局按职责分工负责）", [], ["市发改委", "市商务局"]),
        (
            "（牵头单位：市发改委，市工信局；责任单位：市商务局）",
            ["市发改委", "市工信局"],
            ["市商务局"],
        ),
    ],
)
def test_departments_separated_by_commas_take_the_role_stated_after_them(
    parenthesis, lead, cooperating
):
    parsed = parse_notice(notice(item(parenthesis)))
    clause = parsed.clauses[0].children[0]
    assert (clause.lead, clause.cooperating) == (lead, cooperating)
    assert parsed.remarks == []


# 4 ----------------------------------------------------------------------------------------


def test_a_department_list_broken_over_lines_is_read_as_one():
    parsed = parse_notice(
        notice(
            "1.甲项。正文。(市发改委牵头,市科技局、市工信局、\n"
            "市海渔局按职责分工负责)\n"
            "2.乙项。正文。(市科技局牵头)\n"
        )
    )
    first, second = parsed.clauses[0].children
    assert (first.lead, first.cooperating) == (["市发改委"], ["市科技局", "市工信局", "市海渔局"])
    assert first.text == "甲项。正文。"
    assert second.lead == ["市科技局"]


# 5 ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_other_spellings_of_known_departments_are_those_departments(tmp_path):
    """ "市工业和信息化局" and "潍坊市工信局" are 市工信局 (full name 潍坊市工业和信息化局,
    with a mailbox), and a department that is really new is named by import_notice."""
    departments_load(json.loads(DEPARTMENTS.read_text("utf-8"))["departments"])
    known = set(Department.objects.values_list("name", flat=True))
    path = tmp_path / "variant.txt"
    path.write_text(
        notice(
            "1.甲项。正文。（市工业和信息化局牵头，市卫生健康委、市交通运输局、市海洋局按职责分工负责）\n"
            "2.乙项。正文。（潍坊市工信局牵头，市水利局配合）\n"
        ),
        "utf-8",
    )
    err = StringIO()
    call_command("import_notice", str(path), "--slug", "variant", stderr=err)
    department = dict(
        ClauseResponsibility.objects.filter(clause__consultation__slug="variant").values_list(
            "name", "department__name"
        )
    )
    assert department == {
        "市工业和信息化局": "市工信局",
        "市卫生健康委": "市卫健委",
        "市交通运输局": "市交通局",
        "市海洋局": "市海渔局",
        "潍坊市工信局": "市工信局",
        "市水利局": "市水利局",
    }
    assert set(Department.objects.values_list("name", flat=True)) - known == {"市水利局"}
    assert "市水利局" in err.getvalue()
    assert "市工业和信息化局" not in err.getvalue()


# 6 ----------------------------------------------------------------------------------------


def test_a_paragraph_beginning_with_关注_does_not_end_the_draft():
    parsed = parse_notice(
        notice(
            "1.甲项。正文。\n"
            "关注重点企业发展需求，做好跟踪服务。（市发改委牵头）\n"
            "2.乙项。正文。（市科技局牵头）\n"
            "关注我们可获得更多采购需求\n"
            "3.网站页脚。\n"
        )
    )
    first, second = parsed.clauses[0].children
    assert first.text.endswith("关注重点企业发展需求，做好跟踪服务。")
    assert (first.lead, second.lead) == (["市发改委"], ["市科技局"])


# 7 ----------------------------------------------------------------------------------------


def test_a_note_on_one_clause_stays_with_it():
    """ "2025年底前完成" is this task's time limit, not a note on the whole consultation; "以下
    不再列出" is one."""
    parsed = parse_notice(
        notice(
            item("（市发改委牵头，市工信局按职责分工负责，2025年底前完成）")
            + "2.乙项。正文。（市科技局牵头，各项任务均需各县市区落实，以下不再列出）\n"
        )
    )
    first, second = parsed.clauses[0].children
    assert (first.lead, first.cooperating) == (["市发改委"], ["市工信局"])
    assert first.text == "甲项。正文。（2025年底前完成）"
    assert second.text == "乙项。正文。"
    assert parsed.remarks == ["各项任务均需各县市区落实，以下不再列出"]


# 8 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "opens_on", "closes_on"),
    [
        ("请于2024年11月10日（星期日）前反馈至市海渔局。", None, datetime.date(2024, 11, 10)),
        ("请于11月10日(周日)前将意见反馈至市海渔局。", None, datetime.date(2024, 11, 10)),
        (
            "征求意见时间:即日起至2024年11月10日。",
            datetime.date(2024, 10, 11),
            datetime.date(2024, 11, 10),
        ),
        (
            "征求意见时间自即日起至11月10日止。",
            datetime.date(2024, 10, 11),
            datetime.date(2024, 11, 10),
        ),
    ],
)
def test_a_weekday_after_the_closing_day_and_即日起至_are_read(sentence, opens_on, closes_on):
    """即日起 is the day the notice is published (its signature's date)."""
    parsed = parse_notice(notice(item("（市发改委牵头）"), deadline=sentence))
    assert (parsed.opens_on, parsed.closes_on) == (opens_on, closes_on)


@pytest.mark.django_db
def test_a_period_from_即日起_is_imported_from_the_publication_day():
    source = notice(item("（市发改委牵头）"), deadline="征求意见时间:即日起至2024年11月10日17:00。")
    consultation = notice_import(parsed=parse_notice(source), slug="from-now")
    assert consultation.opens_at == datetime.datetime(2024, 10, 11, tzinfo=SHANGHAI)
    assert consultation.closes_at == datetime.datetime(2024, 11, 10, 16, 59, 59, tzinfo=SHANGHAI)


# A text extracted from a PDF or Word ------------------------------------------------------


def test_a_page_break_or_a_manual_line_break_ends_a_line():
    """pdftotext puts a form feed at each page break and Word's manual line break is a vertical
    tab: "\x0c二、…" was read as text of the clause before it, and the stored text kept the
    character, which no Word document can hold."""
    text = notice(item("（市发改委牵头）") + "\x0c二、保障措施\n1.乙项。正文\x0b第二行。\x07\n")
    clauses = parse_notice(text).clauses
    assert [clause.number for clause in clauses] == ["一", "二"]
    assert clauses[1].heading == "保障措施"
    stored = clauses[1].children[0].text
    assert stored == "乙项。正文\n第二行。"
