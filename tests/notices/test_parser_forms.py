"""The notice parser on notices other than Weifang's: every form the importer must read."""

import datetime
from pathlib import Path

import pytest

from consult.notices.parser import (
    NoticeParseError,
    abbreviates,
    is_generic_group,
    parse_notice,
)

FORMS = Path(__file__).parent / "forms"


def parse(name):
    return parse_notice((FORMS / name).read_text("utf-8"))


def find(clauses, *path):
    """The clause reached by numbers, e.g. find(clauses, "二", "(一)", "1")."""
    clause = None
    for number in path:
        clause = next(c for c in (clause.children if clause else clauses) if c.number == number)
    return clause


def notice(body, draft, signature="潍坊市发展和改革委员会\n2024年10月11日"):
    return f"关于对《测试方案（征求意见稿）》征求意见的通知\n\n{body}\n\n{signature}\n\n{draft}\n"


# --- chapters, sections and articles --------------------------------------------------------


def test_chapters_sections_and_articles_nest_with_continuous_article_numbers():
    """第一章 / 第一节 / 第一条 nest by style; articles run on across chapters."""
    parsed = parse("commerce-measures.txt")
    assert [c.number for c in parsed.clauses] == ["第一章", "第二章", "第三章"]
    assert [c.heading for c in parsed.clauses] == ["总则", "支持政策", "附则"]
    first, second, third = parsed.clauses
    assert [a.number for a in first.children] == ["第一条", "第二条"]
    assert [s.number for s in second.children] == ["第一节", "第二节"]
    assert [a.number for a in second.children[0].children] == ["第三条", "第四条"]
    assert [a.number for a in second.children[1].children] == ["第五条"]
    assert [a.number for a in third.children] == ["第六条"]


def test_article_without_a_title_has_an_empty_heading_and_its_full_text():
    article = find(parse("commerce-measures.txt").clauses, "第一章", "第一条")
    assert article.heading == ""
    assert article.text == "为了促进我市跨境电子商务高质量发展，培育外贸新业态新模式，制定本措施。"


def test_article_with_a_bracketed_title_takes_it_as_heading():
    article = find(parse("commerce-measures.txt").clauses, "第二章", "第一节", "第三条")
    assert article.heading == "培育龙头企业"
    assert (article.lead, article.cooperating) == (["市商务局"], ["市财政局"])


def test_responsibility_at_the_end_of_a_later_paragraph_belongs_to_the_clause():
    article = find(parse("commerce-measures.txt").clauses, "第二章", "第一节", "第四条")
    assert article.text.endswith("海外仓面积应当不少于1000平方米。")
    assert (article.lead, article.cooperating) == ([], ["市商务局", "市财政局"])


def test_lead_and_responsible_units_written_with_labels():
    article = find(parse("commerce-measures.txt").clauses, "第二章", "第二节", "第五条")
    assert article.lead == ["市商务局"]
    assert article.cooperating == ["市自然资源和规划局", "市住建局"]
    assert "牵头单位" not in article.text


def test_single_department_responsible_is_its_lead():
    article = find(parse("commerce-measures.txt").clauses, "第一章", "第二条")
    assert (article.lead, article.cooperating) == (["市商务局"], [])


# --- the notice part ----------------------------------------------------------------------


def test_notice_facts_with_contact_on_one_line_and_a_labelled_deadline():
    parsed = parse("commerce-measures.txt")
    assert parsed.title == "潍坊市促进跨境电子商务高质量发展若干措施"
    assert parsed.issuer == "潍坊市商务局"
    assert parsed.reference_number == "潍商务函〔2025〕3号"
    assert parsed.published_on == datetime.date(2025, 2, 14)
    assert (parsed.opens_on, parsed.closes_on) == (None, datetime.date(2025, 3, 15))
    assert (parsed.contact.name, parsed.contact.phone, parsed.contact.email) == (
        "王明",
        "0536-8192345",
        "swj_kjds@example.cn",
    )
    assert parsed.draft_title == "潍坊市促进跨境电子商务高质量发展若干措施"


def test_comment_period_written_as_a_range_gives_opening_and_closing_days():
    parsed = parse("fullwidth-range.txt")
    assert parsed.opens_on == datetime.date(2025, 6, 1)
    assert parsed.closes_on == datetime.date(2025, 6, 30)


def test_contact_on_one_line_with_full_width_spaces_and_dashes():
    """Phone numbers come out in half-width digits and dashes, whatever the notice used."""
    contact = parse("fullwidth-range.txt").contact
    assert (contact.name, contact.phone, contact.email) == (
        "李娜",
        "0536-5201234",
        "nyj@example.cn",
    )


def test_deadline_before_january_in_a_december_notice_is_next_year():
    parsed = parse("year-end-feedback-list.txt")
    assert parsed.published_on == datetime.date(2024, 12, 20)
    assert parsed.closes_on == datetime.date(2025, 1, 10)


def test_numbered_list_in_the_notice_is_not_a_clause():
    parsed = parse("year-end-feedback-list.txt")
    assert [c.number for c in parsed.clauses] == ["一", "二"]
    assert "电子邮件" not in " ".join(c.text for c in parsed.clauses)
    assert parsed.contact.name == "赵强"
    assert parsed.contact.phone == "0536-3281234"


def test_draft_marked_as_a_bill_for_comment_is_recognised():
    parsed = parse("year-end-feedback-list.txt")
    assert parsed.title == "青州市古城保护利用条例"
    assert parsed.draft_title == "青州市古城保护利用条例"
    assert "（草案征求意见稿）" not in parsed.preamble.splitlines()


def test_issuer_short_name_is_found_in_the_text():
    assert parse("fullwidth-range.txt").issuer_short_names == ["市农业农村局"]


def test_deadline_written_as_month_and_day_takes_the_year_of_the_notice():
    parsed = parse_notice(notice("请将意见于11月10日前反馈。", "一、总体要求\n内容。"))
    assert parsed.closes_on == datetime.date(2024, 11, 10)


@pytest.mark.parametrize(
    "sentence",
    ["反馈截止时间为2025年3月15日。", "截止日期：2025年3月15日", "请于2025年3月15日17:00前反馈。"],
)
def test_each_written_deadline_form(sentence):
    parsed = parse_notice(notice(sentence, "一、总体要求\n内容。"))
    assert parsed.closes_on == datetime.date(2025, 3, 15)


@pytest.mark.parametrize(
    "other",
    [
        "根据省政府要求，本方案须于2024年12月31日前印发实施。",
        "按照省里通知，申报截止日期为2024年10月30日。",
        "2024年9月1日至9月30日，我局已在系统内部征求了意见。",
    ],
)
def test_a_date_about_something_else_is_not_taken_for_the_deadline(other):
    """The first dated "…前" or "截止…" line was taken, whatever it was about (found by a
    review): the consultation would have closed on the wrong day, without a word."""
    parsed = parse_notice(notice(f"{other}\n请于11月10日前反馈。", "一、总体要求\n内容。"))
    assert (parsed.opens_on, parsed.closes_on) == (None, datetime.date(2024, 11, 10))


SIGNED_2025_02_14 = "潍坊市商务局\n2025年2月14日"


@pytest.mark.parametrize(
    ("body", "period", "closes_before"),
    [
        # Comments asked for before, in the line that states the period now.
        (
            "已征求相关部门意见，现向社会公开征求意见，征求意见时间为2025年2月14日至2025年3月15日。",
            ((2025, 2, 14), (2025, 3, 15)),
            None,
        ),
        (
            "在广泛征求了企业和行业协会意见的基础上，现公开征求意见，时间为2025年2月14日至3月15日。",
            ((2025, 2, 14), (2025, 3, 15)),
            None,
        ),
        ("此前征求了部分企业意见，请于2025年3月15日前反馈。", (None, (2025, 3, 15)), None),
        # A period of something else, advised.
        (
            "建议企业于2025年2月20日至2月28日开展自查。\n现公开征求意见，截止日期：2025年3月15日。",
            (None, (2025, 3, 15)),
            None,
        ),
        # A line about comments with a day gone by, then the deadline.
        (
            "本措施须于1月31日前起草完成并征求意见。\n请于3月15日前反馈。",
            (None, (2025, 3, 15)),
            None,
        ),
        # Midnight, and hours in Chinese numerals.
        ("征求意见截止时间为2025年3月15日晚上12点。", (None, (2025, 3, 15)), None),
        ("请于3月15日下午五点前反馈。", (None, (2025, 3, 15)), datetime.time(17, 0)),
        (
            "请于二〇二五年三月十五日下午五时三十分前反馈意见。",
            (None, (2025, 3, 15)),
            datetime.time(17, 30),
        ),
    ],
)
def test_the_period_among_other_dates_and_ways_of_writing_it(body, period, closes_before):
    """Each read otherwise, or not at all, in a review of the deadline's reading."""
    parsed = parse_notice(notice(body, "一、总体要求\n内容。", SIGNED_2025_02_14))
    opens, closes = period
    assert parsed.opens_on == (datetime.date(*opens) if opens else None)
    assert parsed.closes_on == datetime.date(*closes)
    assert parsed.closes_before == closes_before


def test_a_period_over_the_new_year_signed_after_it_opened():
    parsed = parse_notice(
        notice(
            "征求意见时间为12月30日至1月30日。", "一、要求\n内容。", "潍坊市商务局\n2025年1月3日"
        )
    )
    assert (parsed.opens_on, parsed.closes_on) == (
        datetime.date(2024, 12, 30),
        datetime.date(2025, 1, 30),
    )


def test_a_period_over_before_the_notice_was_signed_is_refused():
    with pytest.raises(NoticeParseError) as error:
        parse_notice(
            notice("征求意见时间为1月10日至1月20日。", "一、要求\n内容。", SIGNED_2025_02_14)
        )
    assert "1月20日" in error.value.message and "之前" in error.value.message


def test_a_deadline_before_the_notice_s_own_day_is_refused_not_moved_a_year_on():
    """Signed on the 11th, "请于10月10日前反馈" was read as 2025-10-10: a year-long period."""
    with pytest.raises(NoticeParseError) as error:
        parse_notice(notice("请于10月10日前反馈。", "一、要求\n内容。"))
    assert error.value.line == 3 and "10月10日" in error.value.message


def test_a_period_that_opened_the_day_before_the_notice_was_signed_is_this_year_s():
    signature = "潍坊市发展和改革委员会\n2024年10月12日"
    parsed = parse_notice(
        notice("征求意见时间为10月11日至11月10日。", "一、要求\n内容。", signature)
    )
    assert (parsed.opens_on, parsed.closes_on) == (
        datetime.date(2024, 10, 11),
        datetime.date(2024, 11, 10),
    )


@pytest.mark.parametrize(
    ("sentence", "closes_on", "closes_before"),
    [
        ("请于11月10日下午5时前反馈。", (2024, 11, 10), datetime.time(17, 0)),
        ("请于11月10日下午17:00前反馈。", (2024, 11, 10), datetime.time(17, 0)),
        ("请于11月10日17点前反馈。", (2024, 11, 10), datetime.time(17, 0)),
        ("请于11月10日上午9点30分前反馈。", (2024, 11, 10), datetime.time(9, 30)),
        ("请于二〇二四年十一月十日前反馈。", (2024, 11, 10), None),
        ("征求意见截止至2024年11月10日。", (2024, 11, 10), None),
        ("征求意见时间为2024年10月11日——2024年11月10日。", (2024, 11, 10), None),
    ],
)
def test_deadlines_as_bureaus_also_write_them(sentence, closes_on, closes_before):
    """Each refused as a notice without a deadline (found by a review); 下午5时 is 17:00."""
    parsed = parse_notice(notice(sentence, "一、总体要求\n内容。"))
    assert parsed.closes_on == datetime.date(*closes_on)
    assert parsed.closes_before == closes_before


def test_the_draft_s_own_attachments_are_not_clauses():
    """ "附件：1.重点任务分工表" after the last clause became text of that clause, and the
    list's items clauses to comment on (found by a review)."""
    draft = (
        "一、总体要求\n内容。\n三、保障措施\n加强组织领导。\n"
        "附件：1.重点任务分工表\n2.集聚区名单\n1.寿光市海洋化工产业集聚区"
    )
    parsed = parse_notice(notice("请于11月10日前反馈。", draft))
    assert [c.number for c in parsed.clauses] == ["一", "三"]
    last = parsed.clauses[-1]
    assert last.children == [] and last.text == "加强组织领导。"


def test_attachments_named_inside_a_clause_do_not_end_the_draft():
    """ "附件1：申请表" in 第四条's text cut the draft there: its departments, 第二节, 第五条 and
    第三章 were gone (found by a review). A heading carrying the numbering on resumes it."""
    source = (FORMS / "commerce-measures.txt").read_text("utf-8")
    source = source.replace(
        "第四条　支持企业建设海外仓，按照实际投资额给予补助。\n",
        "第四条　支持企业建设海外仓，按照实际投资额给予补助。申请应提交以下材料：\n"
        "附件1：申请表\n附件2：承诺书\n",
    )
    parsed = parse_notice(source)
    assert [c.number for c in parsed.clauses] == ["第一章", "第二章", "第三章"]
    fourth = find(parsed.clauses, "第二章", "第一节", "第四条")
    assert "附件1：申请表" in fourth.text and fourth.lead + fourth.cooperating == [
        "市商务局",
        "市财政局",
    ]
    assert [a.number for a in find(parsed.clauses, "第二章", "第二节").children] == ["第五条"]


def test_a_note_in_parentheses_inside_the_departments_parenthesis_keeps_the_departments():
    """ "（市发改委牵头（总牵头），…）" dropped both departments without a word."""
    draft = "一、总体要求\n1.加强统筹协调。（市发改委牵头（总牵头），市科技局按职责分工负责）"
    (item,) = parse_notice(notice("请于11月10日前反馈。", draft)).clauses[0].children
    assert (item.lead, item.cooperating) == (["市发改委"], ["市科技局"])
    # The note stays with the clause, its departments are out of its text.
    assert item.heading == "加强统筹协调" and item.text.endswith("（总牵头）")
    assert "市发改委" not in item.text


def test_a_note_in_parentheses_inside_the_departments_parenthesis_stays_with_the_clause():
    draft = "一、总体要求\n1.建设海外仓。（市商务局牵头，市财政局配合（2025年底前完成））"
    (item,) = parse_notice(notice("请于11月10日前反馈。", draft)).clauses[0].children
    assert (item.lead, item.cooperating) == (["市商务局"], ["市财政局"])
    assert "2025年底前完成" in item.heading + item.text


def test_range_written_with_from_and_until():
    parsed = parse_notice(
        notice("征求意见时间：自2025年6月1日起至2025年6月30日止。", "一、要求\n内容。")
    )
    assert (parsed.opens_on, parsed.closes_on) == (
        datetime.date(2025, 6, 1),
        datetime.date(2025, 6, 30),
    )


def test_period_over_the_new_year_with_the_year_written_once():
    parsed = parse_notice(notice("征求意见时间为2024年12月20日至1月10日。", "一、要求\n内容。"))
    assert (parsed.opens_on, parsed.closes_on) == (
        datetime.date(2024, 12, 20),
        datetime.date(2025, 1, 10),
    )


def test_leap_day_without_a_year_in_the_december_before_is_next_years():
    signature = "潍坊市财政局\n2023年12月20日"
    parsed = parse_notice(notice("请于2月29日前反馈。", "一、要求\n内容。", signature))
    assert parsed.closes_on == datetime.date(2024, 2, 29)


def test_leap_day_without_a_year_and_none_within_a_year_is_refused():
    signature = "潍坊市财政局\n2024年3月1日"
    with pytest.raises(NoticeParseError) as error:
        parse_notice(notice("请于2月29日前反馈。", "一、要求\n内容。", signature))
    assert error.value.line == 3 and "2月29日" in error.value.message


def test_signature_date_in_chinese_numerals():
    parsed = parse_notice(
        notice("请于12月31日前反馈。", "一、要求\n内容。", "潍坊市财政局\n二〇二四年十二月二十日")
    )
    assert parsed.published_on == datetime.date(2024, 12, 20)


# --- full-width numbering and parentheses ---------------------------------------------------


def test_full_width_parentheses_and_enumeration_commas_nest_with_continuous_items():
    parsed = parse("fullwidth-range.txt")
    tasks = find(parsed.clauses, "一")
    assert [s.number for s in tasks.children] == ["(一)", "(二)"]
    assert [i.number for i in tasks.children[0].children] == ["1", "2"]
    assert [i.number for i in tasks.children[1].children] == ["3", "4"]
    assert tasks.children[0].heading == "建设数字农业基础设施"


def test_responsible_unit_label_alone_means_cooperating_only():
    item = find(parse("fullwidth-range.txt").clauses, "一", "(一)", "2")
    assert (item.lead, item.cooperating) == ([], ["市大数据局"])


def test_two_leads_and_lead_with_cooperating_written_as_配合():
    parsed = parse("fullwidth-range.txt")
    assert find(parsed.clauses, "一", "(二)", "4").lead == ["市农业农村局", "市人社局"]
    item = find(parsed.clauses, "一", "(二)", "3")
    assert (item.lead, item.cooperating) == (["市农业农村局"], ["市科技局"])


def test_trailing_remark_is_kept_apart_and_other_parentheses_stay_in_the_text():
    parsed = parse("fullwidth-range.txt")
    item = find(parsed.clauses, "二", "(一)")
    assert item.lead == ["市财政局"]
    assert item.cooperating == ["各镇街区", "市直有关部门"]
    assert parsed.remarks == ["各项任务均需各镇街区落实，以下不再列出"]
    assert "（数字化车间、场景）" in item.text
    assert "牵头" not in item.text


def test_heading_with_spaces_inside_is_closed_up():
    parsed = parse_notice(
        notice("请于11月10日前反馈。", "第一章　总　　则\n第一条　为了规范工作，制定本办法。")
    )
    assert parsed.clauses[0].heading == "总则"


def test_text_before_the_first_heading_is_preamble_not_a_clause():
    parsed = parse("fullwidth-range.txt")
    assert "为贯彻落实数字乡村发展战略，制定本方案。" in parsed.preamble
    assert parsed.clauses[0].number == "一"


# --- errors ---------------------------------------------------------------------------------


def test_impossible_date_is_refused_naming_its_line():
    with pytest.raises(NoticeParseError) as error:
        parse("broken-february.txt")
    assert error.value.line == 3
    assert "2月30日" in str(error.value) and "第3行" in str(error.value)


def test_draft_without_headings_is_refused():
    with pytest.raises(NoticeParseError) as error:
        parse_notice(notice("请于11月10日前反馈。", "只有一段没有编号的正文。"))
    assert error.value.line == 8


def test_unterminated_responsibility_parenthesis_is_refused_naming_its_line():
    draft = "一、总体要求\n内容。\n二、任务\n1.推进工作。认真落实。(市发改委牵头,市财政局配合\n"
    with pytest.raises(NoticeParseError) as error:
        parse_notice(notice("请于11月10日前反馈。", draft))
    assert error.value.line == 11


def test_notice_without_signature_is_refused():
    with pytest.raises(NoticeParseError):
        parse_notice("关于对《测试方案》征求意见的通知\n\n一、总体要求\n内容。\n")


def test_empty_notice_is_refused():
    with pytest.raises(NoticeParseError):
        parse_notice("  \n\n")


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "各县市区人民政府",
        "县市区人民政府",
        "县（市、区）人民政府",
        "市有关部门",
        "市直有关部门",
        "市直相关部门",
        "市属各开发区管委会",
    ],
)
def test_generic_groups(name):
    assert is_generic_group(name)


@pytest.mark.parametrize(
    "name",
    ["市发改委", "人民银行潍坊市分行", "潍坊国际风筝会综合服务中心", "市委组织部", "市海渔局"],
)
def test_departments_are_not_generic_groups(name):
    assert not is_generic_group(name)


def test_short_names_abbreviate_their_full_names_only():
    assert abbreviates("市海渔局", "潍坊市海洋发展和渔业局")
    assert abbreviates("市发改委", "潍坊市发展和改革委员会")
    assert not abbreviates("市财政局", "潍坊市海洋发展和渔业局")
    assert not abbreviates("市发改委", "潍坊市海洋发展和渔业局")
    # Characters found in order are not enough (found by a review): the general office is not
    # the office for Taiwan, Hong Kong and Macao affairs.
    taiwan_office = "潍坊市人民政府台港澳事务办公室"
    assert abbreviates("市台港澳办", taiwan_office)
    for general_office in ("市政府办公室", "市政府办", "市府办", "市人民政府办"):
        assert not abbreviates(general_office, taiwan_office), general_office
        assert not abbreviates(general_office, "潍坊市发展和改革委员会"), general_office
    assert abbreviates("市政府办公室", "潍坊市人民政府办公室")
    assert abbreviates("市政府办", "潍坊市人民政府办公室")
    assert abbreviates("市委组织部", "中共潍坊市委组织部")
    # Short names that begin elsewhere than their full name's words (found by a review).
    assert abbreviates("市资规局", "潍坊市自然资源和规划局")
    assert abbreviates("市府办", "潍坊市人民政府办公室")
    assert abbreviates("市人民政府办", "潍坊市人民政府办公室")
    assert abbreviates("市编办", "中共潍坊市委机构编制委员会办公室")


@pytest.mark.parametrize("mark", ["二次征求意见稿", "第三次征求意见稿", "草案征求意见稿"])
def test_a_later_round_s_draft_mark_is_read_like_the_first(mark):
    """A second draft says "(二次征求意见稿)" in its title and on its mark line."""
    path = Path(__file__).resolve().parents[2] / "fixtures/notices/weifang-marine-2024-draft2.txt"
    first_round = path.read_text(encoding="utf-8")
    later = first_round.replace("(征求意见稿)", f"({mark})").replace(
        "工作方案征求意见稿》", f"工作方案({mark})》"
    )
    assert later != first_round
    expected, parsed = parse_notice(first_round), parse_notice(later)
    assert parsed.title == expected.title
    assert parsed.draft_title == expected.draft_title
    assert [c.number for c in parsed.clauses] == [c.number for c in expected.clauses]


@pytest.mark.parametrize(
    ("sentence", "period", "closes_before"),
    [
        # 为 and a colon both (found by a review: read as no deadline).
        ("征求意见截止日期为：2024年11月10日。", (None, (2024, 11, 10)), None),
        ("意见反馈截止时间为：2024年11月10日。", (None, (2024, 11, 10)), None),
        # A time at each end of the period.
        (
            "征求意见时间为2024年10月12日9:00至2024年11月10日17:00。",
            ((2024, 10, 12), (2024, 11, 10)),
            datetime.time(17),
        ),
        (
            "征求意见时间为2024年10月12日上午9时至11月10日下午5时。",
            ((2024, 10, 12), (2024, 11, 10)),
            datetime.time(17),
        ),
    ],
)
def test_deadlines_with_a_colon_after_为_or_a_time_at_the_opening(sentence, period, closes_before):
    parsed = parse_notice(notice(sentence, "一、总体要求\n内容。"))
    expected = tuple(datetime.date(*day) if day else None for day in period)
    assert (parsed.opens_on, parsed.closes_on) == expected
    assert parsed.closes_before == closes_before


@pytest.mark.parametrize(
    "sentence",
    [
        "本方案须于2024年12月31日前印发实施。",
        "现公开征求意见。\n本方案须于12月31日前印发实施。",
    ],
)
def test_a_notice_stating_no_deadline_is_given_no_other_date(sentence):
    """The last resort took the first date of any line ("须于12月31日前印发实施"): the
    consultation closed seven weeks late without a word (found by a review). Without a
    deadline the import is refused (`importer`)."""
    assert parse_notice(notice(sentence, "一、总体要求\n内容。")).closes_on is None


def test_a_period_written_the_wrong_way_round_is_refused_not_stretched_to_a_year():
    """ "11月10日至10月11日" was read as closing the next October (found by a review)."""
    with pytest.raises(NoticeParseError) as refused:
        parse_notice(notice("征求意见时间为11月10日至10月11日。", "一、总体要求\n内容。"))
    assert "写反" in refused.value.message and refused.value.line == 3
