"""The adoption report: generated from the comments, edited, published without personal data."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse

from consult.comments.campaigns import campaigns_assign
from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish, report_review

pytestmark = pytest.mark.django_db

LETTER = "强烈建议保留老渔港的传统渔市，这是几代渔民的生计所在，也是潍坊海洋文化的重要载体。"


def answer(comment, decision, reply):
    Comment.objects.filter(pk=comment.pk).update(status="answered", decision=decision, reply=reply)


@pytest.fixture
def commented(weifang_open):
    def submit(label, body, n):
        return comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label) if label else None,
            body=body,
            channel="web",
            consent=True,
            phone=f"1391234{n:04d}",
            email=f"person{n}@example.cn",
            submitter_name="钱七",
        ).comment

    adopted = submit("二(四)2", "建议明确生态保护红线内的养殖退出补偿标准。", 1)
    refused = submit("二(四)2", "建议取消所有近海养殖许可。", 2)
    letters = [submit("二(三)4", LETTER + "盼复" * n, 10 + n) for n in range(4)]
    whole = submit(None, "整体上支持方案，建议增加年度评估机制。", 3)
    spam = submit("二(三)4", "低价出售渔具，联系微信xxxx。", 4)
    answer(adopted, "adopted", "已在第二(四)2项中补充补偿标准的要求。")
    answer(refused, "not_adopted", "近海养殖是群众重要生计来源，不宜一律取消。")
    for letter in letters:
        answer(letter, "partly_adopted", "传统渔市将在改造中予以保留。")
    Comment.objects.filter(pk=spam.pk).update(status="invalid", invalid_reason="广告")
    campaigns_assign([c.pk for c in letters])
    return weifang_open, {"adopted": adopted, "whole": whole}


def test_generated_counts_per_clause_with_campaigns_and_gists(commented):
    consultation, _comments = commented
    report = report_generate(consultation)
    assert (report.total, report.invalid, report.adopted, report.not_adopted) == (8, 1, 1, 1)
    assert (report.partly_adopted, report.unanswered) == (4, 1)
    assert (report.campaigns, report.campaign_letters) == (1, 4)
    lines = {str(line): line for line in report.lines.all()}
    ecology = next(line for name, line in lines.items() if name.startswith("二(四)2"))
    assert (ecology.comments, ecology.adopted, ecology.not_adopted) == (2, 1, 1)
    industry = next(line for name, line in lines.items() if name.startswith("二(三)4"))
    assert (industry.comments, industry.campaign_letters) == (4, 4)  # the spam is left out
    # No reply is copied: the gists are the coordinator's to write.
    assert all(line.gist == "" for line in lines.values())
    assert any(line.clause_id is None and line.comments == 1 for line in lines.values())
    # The coordinator's edits survive a recount.
    ecology.gist = "采纳补偿标准的建议；近海养殖不宜一律取消。"
    ecology.save()
    report = report_generate(consultation)
    assert report.lines.get(pk=ecology.pk).gist == "采纳补偿标准的建议；近海养殖不宜一律取消。"


def test_the_published_page_shows_the_report_and_no_personal_data(client, commented):
    consultation, _comments = commented
    url = reverse("intake:report", args=[consultation.slug])
    assert client.get(url).status_code == 404  # not before it is published
    report = report_generate(consultation)
    report.lines.filter(clause__label="二(四)2").update(gist="采纳补偿标准的建议。")
    report.unanswered_reason = "对全文的意见将在年度评估中一并研究答复。"
    report.save(update_fields=["unanswered_reason"])
    report_review(
        report, by=User.objects.create_user("hyj-reviewer"), counted_at=report.generated_at
    )
    after_close = consultation.closes_at + datetime.timedelta(days=16)
    with time_machine.travel(after_close):
        report_publish(consultation)
    with time_machine.travel(after_close + datetime.timedelta(hours=1)):
        page = client.get(url).content.decode()
        listing = client.get("/").content.decode()
        detail = client.get(consultation.get_absolute_url()).content.decode()
    assert "意见采纳情况" in page and "采纳补偿标准的建议。" in page
    assert "模板意见" in page and "1 组，共 4 条" in page
    # Every comment is accounted for: the invalid one, and the unanswered one with its reason.
    assert "无效意见" in page and "未答复" in page
    assert "对全文的意见将在年度评估中一并研究答复。" in page
    assert "以上合计 8 条" in page
    for personal in ("钱七", "1391234", "person1@example.cn", "养殖退出补偿标准"):
        assert personal not in page  # names, phones, emails and the comments' own text
    assert "已在第二(四)2项中补充补偿标准的要求。" not in page  # nor the replies
    assert url in listing and url in detail


def test_a_coordinator_edits_the_report_in_the_admin(client, commented):
    consultation, _comments = commented
    report = report_generate(consultation)
    coordinator = User.objects.create_user("hyj-staff", password="pw")
    staff_join(coordinator, Department.objects.get(name="市海渔局"))
    client.force_login(coordinator)
    response = client.get(f"/admin/reports/adoptionreport/{report.pk}/change/")
    assert response.status_code == 200
    other = User.objects.create_user("fgw-staff", password="pw")
    staff_join(other, Department.objects.get(name="市发改委"))
    client.force_login(other)
    assert client.get(f"/admin/reports/adoptionreport/{report.pk}/change/").status_code in (
        302,
        403,
    )
    assert AdoptionReport.objects.count() == 1


def test_the_personal_data_a_report_text_holds_is_named_in_english():
    """ "contains 电话号码": the kinds were marked with an alias makemessages does not read, so
    two of them never reached the catalogue."""
    from django.utils import translation

    from consult.reports.services import personal_data_errors

    text = (
        "请致电13912345678，或凭身份证37070219800101123X、邮箱wang@example.cn查询，"
        "或加微信 wangwu_2024。"
    )
    with translation.override("en"):
        errors = personal_data_errors(text, "Introduction")
    assert len(errors) == 4
    for error in errors:
        assert not re.search(r"[\u4e00-\u9fff]", error.split("“")[0]), error
    assert any("phone number" in error for error in errors)
    assert any("ID number" in error for error in errors)
    assert any("QQ or WeChat ID “wangwu_2024”" in error for error in errors)
