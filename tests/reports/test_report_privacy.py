"""No personal data in the public adoption report (issue 15, item 7).

The report never copies a reply; the summaries are the coordinator's own words; a report nobody
reviewed is not published; names, phone numbers, emails and ID numbers are refused, naming where.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.urls import reverse

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish

pytestmark = pytest.mark.django_db

REPLY = "赵六同志：您反映的问题已转交市海渔局研究办理，联系电话13912345678。"
CLEAN = "采纳补偿标准的建议；近海养殖不宜一律取消。"


@pytest.fixture
def answered(weifang_open):
    clause = weifang_open.clauses.get(label="二(四)2")
    for n in range(3):
        comment = comment_submit(
            consultation=weifang_open,
            clause=clause,
            body=f"建议明确养殖退出补偿标准。{n}",
            channel="web",
            consent=True,
            phone=f"1391234{n:04d}",
            email=f"zhao{n}@example.cn",
            submitter_name="赵六",
        ).comment
        Comment.objects.filter(pk=comment.pk).update(
            status="answered", decision="adopted", reply=REPLY
        )
    return weifang_open


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj-coordinator", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    return user


def after_close(consultation):
    return time_machine.travel(consultation.closes_at + datetime.timedelta(days=16))


def review(report, user):
    from consult.reports.services import report_review

    report_review(report, by=user, counted_at=report.generated_at)


def admin_save(client, report, *, introduction=None, gists=None):
    """Save the report's change form in the admin, as a coordinator does."""
    lines = list(report.lines.order_by("position", "pk"))
    data = {
        "introduction": report.introduction if introduction is None else introduction,
        "counted_at": report.generated_at.isoformat(),
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": len(lines),
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 1000,
    }
    for i, line in enumerate(lines):
        data[f"lines-{i}-id"] = line.pk
        data[f"lines-{i}-report"] = report.pk
        data[f"lines-{i}-gist"] = (gists or {}).get(line.pk, line.gist)
    return client.post(f"/admin/reports/adoptionreport/{report.pk}/change/", data)


def ecology_line(report):
    return report.lines.get(clause__label="二(四)2")


def test_a_generated_report_copies_no_reply(answered):
    report = report_generate(answered)
    texts = [report.introduction, *report.lines.values_list("gist", flat=True)]
    for text in texts:
        assert "赵六" not in text
        assert "您反映的问题" not in text
        assert "13912345678" not in text


def test_an_unreviewed_report_is_not_published(answered):
    report_generate(answered)
    with after_close(answered), pytest.raises(ValidationError) as refused:
        report_publish(answered)
    assert "审阅" in refused.value.messages[0]
    answered.refresh_from_db()
    assert answered.report_published_at is None


def test_publishing_without_any_report_is_refused(answered):
    with after_close(answered), pytest.raises(ValidationError):
        report_publish(answered)
    answered.refresh_from_db()
    assert answered.report_published_at is None


@pytest.mark.parametrize(
    ("gist", "kind"),
    [
        ("详情请致电 139 1234 5678 咨询。", "电话号码"),
        ("可拨打 0536-8231234 了解。", "电话号码"),
        ("来信请寄 zhao.liu@example.cn。", "电子邮箱"),
        ("经核实 37070219900101123X 的情况属实。", "身份证号码"),
        ("赵六同志：您反映的问题已转交。", "姓名"),
        ("采纳张先生关于补偿标准的建议。", "姓名"),
        ("李女士的意见已采纳。", "姓名"),
        ("欧阳小明先生的建议已采纳。", "姓名"),
    ],
)
def test_a_summary_with_personal_data_is_refused_naming_the_place(
    answered, coordinator, gist, kind
):
    report = report_generate(answered)
    line = ecology_line(report)
    line.gist = gist
    line.save()
    review(report, coordinator)
    with after_close(answered), pytest.raises(ValidationError) as refused:
        report_publish(answered)
    message = " ".join(refused.value.messages)
    assert "二(四)2" in message and "答复要点" in message and kind in message
    answered.refresh_from_db()
    assert answered.report_published_at is None


def test_a_commenter_s_name_written_of_them_without_a_salutation_is_refused_on_publishing(
    answered, coordinator
):
    """Only a name with 同志/先生/女士/小姐 after it was found: "采纳赵六提出的建议" went out on
    the public report, naming a citizen the comment lists mask. The names the consultation's
    commenters gave are looked for where the report writes of a person, in one query for the
    whole report when it is published."""
    report = report_generate(answered)
    line = ecology_line(report)
    line.gist = "采纳赵六提出的补偿标准建议。"
    line.save()
    report.introduction = "本次共收到意见3条，感谢赵六等群众的参与。"
    report.save()
    review(report, coordinator)
    with after_close(answered), pytest.raises(ValidationError) as refused:
        report_publish(answered)
    message = " ".join(refused.value.messages)
    assert message.count("姓名“赵六”") == 2 and "答复要点" in message and "说明" in message


@pytest.mark.parametrize(
    ("given", "text", "written"),
    [
        ("王五", "采纳王 五提出的建议。", "王 五"),
        ("Li Ming", "感谢LI MING的来信。", "LI MING"),
        ("阿依古丽·买买提", "阿依古丽买买提反映的问题已研究。", "阿依古丽买买提"),
        # Latin names longer than eight characters (the check read no further), any space,
        # a Latin name wrapped at its space, accents.
        ("John Smith", "感谢John Smith的来信。", "John Smith"),
        ("Zhang Xiaoming", "采纳Zhang Xiaoming提出的建议。", "Zhang Xiaoming"),
        ("王五", "采纳王\u2003五提出的建议。", "王\u2003五"),
        ("John Smith", "感谢John\nSmith的来信。", "John\nSmith"),
        ("José García", "感谢José García的来信。", "José García"),
        # Without the accents it was given, or with those it was not; in full width.
        ("José García", "感谢Jose Garcia的来信。", "Jose Garcia"),
        ("Jose Garcia", "感谢José García的来信。", "José García"),
        ("Ｊｏｈｎ Ｓｍｉｔｈ", "感谢John Smith的来信。", "John Smith"),
        ("John Smith", "感谢Ｊｏｈｎ　Ｓｍｉｔｈ的来信。", "Ｊｏｈｎ　Ｓｍｉｔｈ"),
        # An apostrophe in it (the check looked up "Brien"), written either way.
        ("Seán O'Brien", "感谢Seán O'Brien的来信。", "Seán O'Brien"),
        ("Seán O'Brien", "感谢Seán O’Brien的来信。", "Seán O’Brien"),
        ("D’Arcy", "采纳D'Arcy提出的建议。", "D'Arcy"),
        # Spaced from the words around it, as Latin words in Chinese are typeset; longer names.
        ("John Smith", "感谢 John Smith 的来信。", "John Smith"),
        ("王五", "采纳 王五 提出的建议。", "王五"),
        ("Juan Carlos de la Cruz", "感谢Juan Carlos de la Cruz的来信。", "Juan Carlos de la Cruz"),
        (
            "阿卜杜热合曼·阿卜杜热西提",
            "采纳阿卜杜热合曼·阿卜杜热西提提出的建议。",
            "阿卜杜热合曼·阿卜杜热西提",
        ),
    ],
)
def test_a_name_is_found_however_the_report_spells_it(answered, coordinator, given, text, written):
    """The public list masks a name in any case, spacing or middle dot; the report's check
    looked the name up only as given, and published these (found by a review)."""
    Comment.objects.filter(consultation=answered).update(submitter_name=given)
    report = report_generate(answered)
    report.introduction = text
    report.save()
    review(report, coordinator)
    with after_close(answered), pytest.raises(ValidationError) as refused:
        report_publish(answered)
    assert f"姓名“{written}”" in " ".join(refused.value.messages)


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ("买买提", "采纳买买提提出的建议。"),
        ("热依拉·买买提", "热依拉·买买提反映的问题已研究。"),
        ("Zhao Liu", "感谢Zhao Liu的来信。"),
        ("𠀋一", "采纳𠀋一的意见。"),  # a character outside the basic block
    ],
)
def test_names_of_every_writing_are_found(answered, coordinator, given, text):
    Comment.objects.filter(consultation=answered).update(submitter_name=given)
    report = report_generate(answered)
    report.introduction = text
    report.save()
    review(report, coordinator)
    with after_close(answered), pytest.raises(ValidationError) as refused:
        report_publish(answered)
    assert f"姓名“{given}”" in " ".join(refused.value.messages)


def test_words_that_commenters_gave_as_names_are_refused_only_where_written_of_a_person(
    answered, coordinator
):
    """A name field holds what people type in it: a district, a trade. The report must still
    be able to say "高新区" and "金融机构"."""
    for n, given in enumerate(["高新区", "林业", "金融"]):
        Comment.objects.filter(pk=answered.comments.order_by("pk")[n].pk).update(
            submitter_name=given
        )
    report = report_generate(answered)
    report.introduction = "支持高新区和林业部门发展海洋经济，金融机构加大支持。"
    report.save()
    review(report, coordinator)
    with after_close(answered):
        report_publish(answered)


def test_an_introduction_with_personal_data_is_refused(answered, coordinator):
    report = report_generate(answered)
    report.introduction = "如有疑问请联系王先生，电话 0536-8231234。"
    report.save()
    review(report, coordinator)
    with after_close(answered), pytest.raises(ValidationError) as refused:
        report_publish(answered)
    message = " ".join(refused.value.messages)
    assert "说明" in message and "电话号码" in message and "姓名" in message


def test_the_admin_names_the_place_and_does_not_save(client, answered, coordinator):
    report = report_generate(answered)
    client.force_login(coordinator)
    line = ecology_line(report)
    response = admin_save(client, report, gists={line.pk: "请联系 zhao@example.cn。"})
    assert response.status_code == 200  # the form again, with the error
    assert "电子邮箱" in response.content.decode()
    line.refresh_from_db()
    assert line.gist == ""
    report.refresh_from_db()
    assert report.reviewed_at is None


def test_a_clean_report_reviewed_in_the_admin_publishes(client, answered, coordinator):
    report = report_generate(answered)
    client.force_login(coordinator)
    line = ecology_line(report)
    assert admin_save(client, report, gists={line.pk: CLEAN}).status_code == 302
    report.refresh_from_db()
    assert report.reviewed_by == coordinator and report.reviewed_at is not None

    with after_close(answered):
        report_publish(answered)
    answered.refresh_from_db()
    assert answered.report_published_at is not None
    page = client.get(reverse("intake:report", args=[answered.slug])).content.decode()
    assert CLEAN in page
    for personal in ("赵六", "13912345678", "zhao0@example.cn", "您反映的问题"):
        assert personal not in page


def test_a_recount_asks_for_review_again(answered, coordinator):
    report = report_generate(answered)
    review(report, coordinator)
    report = report_generate(answered)
    assert report.reviewed_at is None
    with after_close(answered), pytest.raises(ValidationError):
        report_publish(answered)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("电话：13912345678", ["phone"]),
        ("+86 139-1234-5678", ["phone"]),
        ("１３９１２３４５６７８", ["phone"]),
        ("（0536）8231234", ["phone"]),
        ("010-12345678-21", ["phone"]),
        ("邮箱 a.b@example.com.cn", ["email"]),
        ("身份证 370702199001011234", ["id_number"]),
        ("赵六同志：您好", ["name"]),
        # Found as the public comment lists mask them (comments.privacy): one set of patterns.
        ("电话 008613812345678", ["phone"]),
        ("电话 +86 138 1234 5678", ["phone"]),
        ("电话 138\u30001234\u30005678", ["phone"]),
        ("电话 138\u00a01234\u00a05678", ["phone"]),
        ("身份证 370702900101123", ["id_number"]),
        ("身份证 370702 19900101 1234", ["id_number"]),
        ("张先生、李女士", ["name", "name"]),
        # What the report does say: counts, dates, clause labels, hotlines, plural salutations.
        ("共收到意见 8 条，采纳 3 条。", []),
        ("2024年12月31日前完成，详见第二(四)2项。", []),
        ("可拨打 12345 政务服务便民热线。", []),
        ("感谢各位同志和广大群众的支持，党员同志要带头。", []),
        ("同志们提出的意见", []),
    ],
)
def test_personal_data_is_found_where_it_is(text, kinds):
    from consult.reports.redaction import personal_data_in

    findings = personal_data_in(text)
    assert [finding.kind for finding in findings] == kinds
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text


def test_the_report_model_holds_who_reviewed_it():
    assert {"reviewed_at", "reviewed_by"} <= {f.name for f in AdoptionReport._meta.get_fields()}
