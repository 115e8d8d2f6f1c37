"""Importing a notice: the consultation, its clause tree, its departments — all or nothing."""

import datetime
import json
import zoneinfo
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Clause, ClauseResponsibility, Consultation, Department
from consult.notices.importer import NoticeImportError, notice_import
from consult.notices.parser import NoticeParseError, parse_notice
from consult.testing.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
WEIFANG = ROOT / "fixtures" / "notices" / "weifang-marine-2024.txt"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.django_db


@pytest.fixture
def weifang():
    source = WEIFANG.read_text("utf-8")
    return notice_import(parsed=parse_notice(source), slug="weifang", source_text=source)


def test_fixture_is_the_notice_as_published():
    """The repository's copy is the scraped page itself, the hosting site's footer included, so
    the importer is tested on what a bureau would paste."""
    text = WEIFANG.read_text("utf-8")
    assert text.startswith("关于对《潍坊市加快构建现代海洋特色产业集聚区工作方案征求意见稿》")
    assert "潍坊市海洋发展和渔业局\n2024年10月11日" in text
    assert text.count("联系人") == 2  # the notice's contact line and the site's footer


def test_fixture_is_the_shared_notice_verbatim():
    shared = ROOT.parent / "shared" / "notices" / "weifang-marine-2024.txt"
    if not shared.exists():
        unavailable(f"{shared} is not beside this checkout")
    assert WEIFANG.read_bytes() == shared.read_bytes()


def test_weifang_is_imported_with_its_period_exact_to_the_second(weifang):
    assert weifang.issuer.full_name == "潍坊市海洋发展和渔业局"
    assert weifang.published_on == datetime.date(2024, 10, 11)
    assert weifang.closes_at == datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=SHANGHAI)
    assert weifang.opens_at == datetime.datetime(2024, 10, 11, 0, 0, tzinfo=SHANGHAI)
    assert (weifang.contact_name, weifang.contact_email) == ("丁家楠", "hycytjb@wf.shandong.cn")
    assert weifang.source_text == WEIFANG.read_text("utf-8")


def test_weifang_clause_tree_has_three_parts_and_eighteen_items(weifang):
    top = list(weifang.clauses.filter(parent=None).order_by("path"))
    assert [c.heading for c in top] == ["总体要求", "主要任务", "保障措施"]
    sections = list(top[1].children.order_by("path"))
    assert [s.children.count() for s in sections] == [2, 3, 4, 3, 3]
    assert top[2].children.count() == 3
    leaves = weifang.clauses.filter(children=None).exclude(pk=top[0].pk)
    assert leaves.count() == 18


def test_clause_labels_include_their_parents_numbers(weifang):
    assert weifang.clauses.filter(
        label="二(一)1", heading="分类推进海洋特色产业集聚区建设"
    ).exists()
    assert weifang.clauses.filter(label="三(三)", heading="严格建设程序").exists()


def test_responsibilities_keep_document_order_and_generic_groups(weifang):
    clause = weifang.clauses.get(label="三(一)")
    rows = list(clause.responsibilities.order_by("position"))
    assert [(r.name, r.role, r.department_id is None) for r in rows] == [
        ("市发改委", "lead", False),
        ("市海渔局", "lead", False),
        ("市有关部门", "cooperating", True),
    ]


def test_issuer_full_name_and_short_name_are_one_department(weifang):
    issuer = weifang.issuer
    assert Department.objects.named("市海渔局").get() == issuer
    assert Department.objects.named("潍坊市海洋发展和渔业局").get() == issuer
    named_in_clauses = ClauseResponsibility.objects.filter(name="市海渔局")
    assert named_in_clauses.exists()
    assert set(named_in_clauses.values_list("department", flat=True)) == {issuer.pk}


def test_footer_of_the_hosting_site_does_not_leak(weifang):
    texts = " ".join(weifang.clauses.values_list("text", flat=True))
    for leaked in ("郝工", "68960698", "1049263697@qq.com", "标签", "热门搜索"):
        assert leaked not in texts
        assert leaked not in weifang.preamble
    assert weifang.contact_name == "丁家楠"


def test_trailing_remark_is_kept_on_the_consultation(weifang):
    assert "以下不再列出" in weifang.responsibility_remarks
    assert "以下不再列出" not in weifang.clauses.get(label="二(一)1").text


def test_known_alias_is_matched_instead_of_creating_a_department():
    fgw = Department.objects.create(name="市发改委", full_name="潍坊市发展和改革委员会")
    fgw.aliases.create(name="市发展改革委")
    source = WEIFANG.read_text("utf-8").replace(
        "(市发改委牵头,市科技局", "(市发展改革委牵头,市科技局", 1
    )
    consultation = notice_import(parsed=parse_notice(source), slug="alias", source_text=source)
    responsibility = ClauseResponsibility.objects.get(
        clause__consultation=consultation, name="市发展改革委"
    )
    assert responsibility.department == fgw
    assert not Department.objects.filter(name="市发展改革委").exists()


def test_the_general_office_is_not_taken_for_an_office_whose_name_holds_its_characters():
    """ "市政府办公室牵头" was routed to 市台港澳办 (潍坊市人民政府台港澳事务办公室 holds 市, 政府
    and 办公室 in order), and kept as its alias for every later import."""
    taiwan_office = Department.objects.create(
        name="市台港澳办", full_name="潍坊市人民政府台港澳事务办公室"
    )
    source = WEIFANG.read_text("utf-8").replace(
        "(市发改委牵头,市科技局", "(市政府办公室牵头,市科技局", 1
    )
    consultation = notice_import(parsed=parse_notice(source), slug="office", source_text=source)
    lead = ClauseResponsibility.objects.get(clause__consultation=consultation, name="市政府办公室")
    assert lead.department != taiwan_office and lead.department.name == "市政府办公室"
    assert not taiwan_office.aliases.exists()


def test_weifang_comments_route_through_the_imported_tree(weifang):
    moment = datetime.datetime(2024, 11, 1, 10, 0, tzinfo=SHANGHAI)

    def routes(clause):
        comment = comment_submit(
            consultation=weifang,
            clause=clause,
            body="建议明确集聚区评价指标和退出机制。",
            channel=Comment.Channel.WEB,
            consent=True,
            now=moment,
        ).comment
        return [(r.department.name, r.role, r.is_owner) for r in comment.routes.all()]

    item = weifang.clauses.get(label="二(一)1")
    assert routes(item) == [
        ("市发改委", "lead", True),
        ("市科技局", "cooperating", False),
        ("市工信局", "cooperating", False),
        ("市交通局", "cooperating", False),
        ("市海渔局", "cooperating", False),
        ("市文化和旅游局", "cooperating", False),
        ("市卫健委", "cooperating", False),
    ]
    no_lead = weifang.clauses.get(label="二(五)1")
    assert routes(no_lead) == [
        ("市海渔局", "coordinator", True),
        ("市发改委", "cooperating", False),
        ("市商务局", "cooperating", False),
    ]
    assert routes(weifang.clauses.get(label="三(一)")) == [
        ("市发改委", "lead", True),
        ("市海渔局", "lead", False),
    ]
    assert routes(None) == [("市海渔局", "coordinator", True)]
    section = weifang.clauses.get(label="二(四)")  # a heading: the issuer answers (issue 18)
    assert routes(section) == [
        ("市海渔局", "coordinator", True),
        ("市发改委", "cooperating", False),
        ("市生态环境局", "cooperating", False),
    ]


@pytest.mark.parametrize(
    ("sentence", "closes_at"),
    [
        ("11月10日17:00前", datetime.datetime(2024, 11, 10, 16, 59, 59, tzinfo=SHANGHAI)),
        ("11月10日17时30分以前", datetime.datetime(2024, 11, 10, 17, 29, 59, tzinfo=SHANGHAI)),
        ("11月10日24:00前", datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=SHANGHAI)),
        ("11月10日前", datetime.datetime(2024, 11, 10, 23, 59, 59, tzinfo=SHANGHAI)),
        # However the closing day is introduced, its time is kept.
        ("截止时间为11月10日17:00", datetime.datetime(2024, 11, 10, 16, 59, 59, tzinfo=SHANGHAI)),
        ("10月11日至11月10日17时", datetime.datetime(2024, 11, 10, 16, 59, 59, tzinfo=SHANGHAI)),
    ],
)
def test_a_closing_time_in_the_notice_is_the_closing_moment(sentence, closes_at):
    """ "17:00前" closes at 16:59:59, not at the day's end seven hours later."""
    source = WEIFANG.read_text("utf-8").replace("11月10日前反馈", f"{sentence}反馈")
    assert f"{sentence}反馈" in source
    consultation = notice_import(parsed=parse_notice(source), slug="timed", source_text=source)
    assert consultation.closes_at == closes_at


def test_a_period_closing_before_it_opens_is_refused_and_writes_nothing():
    """ "0:00前" on the day the notice is published ends the period a second before it begins."""
    source = WEIFANG.read_text("utf-8").replace("11月10日前反馈", "10月11日0:00前反馈")
    with pytest.raises(NoticeImportError, match="早于开始日期 2024-10-11"):
        notice_import(parsed=parse_notice(source), slug="backwards", source_text=source)
    assert not Consultation.objects.exists()


def test_a_closing_time_that_does_not_exist_is_refused():
    source = WEIFANG.read_text("utf-8").replace("11月10日前反馈", "11月10日25:00前反馈")
    with pytest.raises(NoticeParseError, match="时间不存在"):
        parse_notice(source)


def test_import_without_deadline_is_refused_and_writes_nothing():
    source = WEIFANG.read_text("utf-8").replace(
        "请将修改意见于11月10日前反馈至市海渔局", "欢迎反馈"
    )
    parsed = parse_notice(source)
    assert parsed.closes_on is None
    with pytest.raises(NoticeImportError):
        notice_import(parsed=parsed, slug="x", source_text=source)
    assert not Consultation.objects.exists()
    assert not Department.objects.exists()


def test_command_imports_weifang():
    err = StringIO()
    call_command("import_notice", str(WEIFANG), "--slug", "wf", stderr=err)
    consultation = Consultation.objects.get(slug="wf")
    assert consultation.clauses.count() == Clause.objects.count() > 18


@pytest.mark.parametrize("slug", ["潍坊 海洋", "a/b", "x" * 101])
def test_command_refuses_a_slug_no_address_can_hold(slug):
    """It used to store it: every page linking to the consultation then failed to reverse its
    URL (the list page, the API list, the feeds, the sitemap: 500 for every visitor)."""
    with pytest.raises(CommandError) as error:
        call_command("import_notice", str(WEIFANG), "--slug", slug)
    assert error.value.returncode == 2
    assert "网址标识" in str(error.value)
    assert not Consultation.objects.exists()


def test_an_empty_slug_is_refused():
    source = WEIFANG.read_text("utf-8")
    with pytest.raises(NoticeImportError):
        notice_import(parsed=parse_notice(source), slug="", source_text=source)
    assert not Consultation.objects.exists()


def test_command_dry_run_json_prints_one_document_and_writes_nothing():
    out = StringIO()
    call_command("import_notice", str(WEIFANG), "--dry-run", "--json", stdout=out)
    document = json.loads(out.getvalue())
    assert document["issuer"] == "潍坊市海洋发展和渔业局"
    assert document["closes_on"] == "2024-11-10"
    assert [c["heading"] for c in document["clauses"]] == ["总体要求", "主要任务", "保障措施"]
    assert not Consultation.objects.exists()
    assert not Department.objects.exists()


@pytest.mark.parametrize(
    "broken",
    [
        "关于对《某方案》征求意见的通知\n\n请于11月10日前反馈。\n\n潍坊市商务局\n2024年10月11日\n\n没有任何标题的正文。\n",
        "关于对《某方案》征求意见的通知\n\n请于2月30日前反馈。\n\n潍坊市商务局\n2024年10月11日\n\n一、总体要求\n内容。\n",
        "关于对《某方案》征求意见的通知\n\n请于11月10日前反馈。\n\n潍坊市商务局\n2024年10月11日\n\n"
        "一、总体要求\n1.做好工作。推进。(市商务局牵头,市财政局配合\n",
    ],
    ids=["no-headings", "february-30", "unterminated-parenthesis"],
)
def test_broken_notice_exits_2_naming_the_line_and_leaves_the_database_untouched(broken, tmp_path):
    Department.objects.create(name="市商务局")
    path = tmp_path / "broken.txt"
    path.write_text(broken, "utf-8")
    with pytest.raises(CommandError) as error:
        call_command("import_notice", str(path))
    assert error.value.returncode == 2
    assert "行" in str(error.value) or "line" in str(error.value)
    assert not Consultation.objects.exists()
    assert list(Department.objects.values_list("name", flat=True)) == ["市商务局"]


def test_command_reads_a_gb18030_file(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(WEIFANG.read_text("utf-8").encode("gb18030"))
    call_command("import_notice", str(path), "--slug", "gbk", stderr=StringIO())
    assert Consultation.objects.get(slug="gbk").issuer.full_name == "潍坊市海洋发展和渔业局"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_file_in_another_encoding_exits_2_naming_it(tmp_path, encoding):
    """UTF-16, with its byte-order mark or without: a traceback, or a 500 of the database
    refusing NUL, before."""
    path = tmp_path / "utf16.txt"
    path.write_bytes(WEIFANG.read_text("utf-8").encode(encoding))
    with pytest.raises(CommandError, match=r"utf16\.txt: ") as caught:
        call_command("import_notice", str(path), "--slug", "u16", stderr=StringIO())
    assert caught.value.returncode == 2
    assert not Consultation.objects.exists()


def test_same_slug_twice_is_refused_with_exit_2():
    call_command("import_notice", str(WEIFANG), "--slug", "wf", stderr=StringIO())
    with pytest.raises(CommandError) as error:
        call_command("import_notice", str(WEIFANG), "--slug", "wf", stderr=StringIO())
    assert error.value.returncode == 2
    assert Consultation.objects.count() == 1


def test_seed_demo_refuses_to_run_in_production(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = False
    with pytest.raises(CommandError, match="createsuperuser"):
        call_command("seed_demo", stdout=StringIO())
    assert not Consultation.objects.exists()
    assert not get_user_model().objects.exists()
    assert not list(tmp_path.iterdir())


def test_seed_demo_loads_weifang_and_an_open_copy_and_is_idempotent(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # seed_demo is for development only
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    original = Consultation.objects.get(slug="weifang-marine-2024")
    demo = Consultation.objects.get(slug="weifang-marine-2024-demo")
    assert not original.is_open and demo.is_open
    assert demo.clauses.count() == original.clauses.count()
    assert set(demo.clauses.values_list("label", flat=True)) == set(
        original.clauses.values_list("label", flat=True)
    )
    assert Department.objects.get(name="市发改委").mailboxes.exists()
    assert "password" in out.getvalue()
    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert f"“{password}”" in out.getvalue().splitlines()[-2] or password in out.getvalue()


def test_seed_demo_a_month_later_opens_the_demo_copy_again(tmp_path, settings):
    """`make run` on a var/ older than the demo's month left it closed: the README's comment
    and API examples then met a closed consultation."""
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # seed_demo is for development only
    call_command("seed_demo", stdout=StringIO())
    demo = Consultation.objects.get(slug="weifang-marine-2024-demo")
    with time_machine.travel(demo.closes_at + datetime.timedelta(days=5), tick=False):
        call_command("seed_demo", stdout=StringIO())
        demo.refresh_from_db()
        assert demo.is_open
        assert demo.current_revision.closes_at == demo.closes_at


def test_seed_demo_prints_an_admin_password_that_works_and_resets_none(tmp_path, settings):
    """The kept password was another admin's (--admin-username), and printed for "admin"; an
    account's own password is never replaced by a run of `make run`."""
    settings.VAR_DIR = tmp_path
    settings.DEBUG = True  # seed_demo is for development only
    call_command("seed_demo", stdout=StringIO())
    admin = get_user_model().objects.get(username="admin")
    call_command("seed_demo", "--admin-username", "admin2", stdout=StringIO())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    kept = (tmp_path / "admin-password.txt").read_text().strip()
    assert f"“{kept}”" not in out.getvalue()  # admin2's: it would not log "admin" in
    assert "its own password" in out.getvalue()
    admin.set_password("chosen-by-the-admin")
    admin.save()
    call_command("seed_demo", stdout=StringIO())
    admin.refresh_from_db()
    assert admin.check_password("chosen-by-the-admin")
    # Its own kept password is printed again, and works.
    settings.VAR_DIR = tmp_path / "fresh"
    get_user_model().objects.filter(username="admin").delete()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    password = (tmp_path / "fresh" / "admin-password.txt").read_text().strip()
    assert out.getvalue().count(f"“{password}”") == 2
    assert get_user_model().objects.get(username="admin").check_password(password)
