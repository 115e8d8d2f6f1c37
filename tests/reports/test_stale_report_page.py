"""A report page opened before a recount saves nothing and reviews nothing.

Found by a review on PostgreSQL: the coordinator opened the report (8 comments), a colleague
recounted after a ninth arrived, and saving the page opened earlier wrote the 8-count
introduction back and counted as the review of counts the coordinator never saw; the published
page said 8 at the top and 9 at the bottom.
"""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from consult.reports.models import AdoptionReport
from consult.reports.services import report_generate, report_publish, report_review

pytestmark = pytest.mark.django_db

REPORTS = "/admin/reports/adoptionreport/"
RECOUNTED = "重新生成：页面已显示新的统计，所填内容已保留，请核对后再次保存。"


@pytest.fixture
def coordinator():
    user = User.objects.create_user("hyj", password="pw")
    staff_join(user, Department.objects.get(name="市海渔局"))
    user.user_permissions.add(Permission.objects.get(codename="publish_report"))
    return user


def submit(consultation, label, body):
    return comment_submit(
        consultation=consultation,
        clause=consultation.clauses.get(label=label) if label else None,
        body=body,
        channel="web",
        consent=True,
        now=consultation.closes_at - datetime.timedelta(seconds=5),
    ).comment


@pytest.fixture
def counted(weifang_open):
    """Two answered comments on a clause and one on the whole draft, counted."""
    for body in ("建议明确养殖退出补偿标准。", "建议公开资金使用情况。"):
        submit(weifang_open, "二(四)2", body)
    submit(weifang_open, None, "整体上支持方案。")
    Comment.objects.update(status="answered", decision="adopted", reply="已采纳。")
    return report_generate(weifang_open)


def after_close(consultation):
    return time_machine.travel(consultation.closes_at + datetime.timedelta(days=16))


def page_data(response):
    """What the change page posts back when saved as it was rendered."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        data[name] = form[name].value() or ""
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[f"{formset.prefix}-{name}"] = formset.management_form[name].value()
        for line in formset.forms:
            for name in line.fields:
                value = line[name].value()
                if value not in (None, False):
                    data[line.add_prefix(name)] = value
    return data


def gist_key(data, line):
    """The name the page gives the gist of `line`."""
    for key, value in data.items():
        if key.endswith("-id") and str(value) == str(line.pk):
            return key.removesuffix("id") + "gist"
    raise KeyError(line.pk)


def test_a_page_opened_before_a_recount_keeps_the_recount_and_is_no_review(
    client, counted, coordinator
):
    """Saving it is refused with a form error, the typed text still on the page; the recount's
    introduction, lines and missing review stay, and the report is not published."""
    report = counted
    consultation = report.consultation
    client.force_login(coordinator)
    url = f"{REPORTS}{report.pk}/change/"
    stale = page_data(client.get(url))
    assert "共收到意见 3 条" in stale["introduction"]
    line = report.lines.get(clause__label="二(四)2")
    stale[gist_key(stale, line)] = "采纳补偿标准的建议。"
    stale["unanswered_reason"] = "正在会商。"

    submit(consultation, "二(四)2", "补充一条意见。")
    Comment.objects.update(status="answered", decision="adopted", reply="已采纳。")
    report_generate(consultation)

    response = client.post(url, stale)
    assert response.status_code == 200
    page = response.content.decode()
    assert RECOUNTED in page
    assert "采纳补偿标准的建议。" in page and "正在会商。" in page  # what was typed is kept
    report.refresh_from_db()
    line.refresh_from_db()
    assert "共收到意见 4 条" in report.introduction
    assert report.reviewed_at is None and report.unanswered_reason == ""
    assert (line.comments, line.gist) == (3, "")
    with after_close(consultation), pytest.raises(ValidationError) as refused:
        report_publish(consultation)
    assert refused.value.code == "not_reviewed"

    # Opened again, the page shows the recount; saving it is the review.
    fresh = page_data(client.get(url))
    fresh[gist_key(fresh, line)] = "采纳补偿标准的建议。"
    assert client.post(url, fresh).status_code == 302
    report.refresh_from_db()
    assert report.reviewed_by == coordinator
    with after_close(consultation):
        report_publish(consultation)
        public = client.get(f"/consultations/{consultation.slug}/report/").content.decode()
    assert "共收到意见 4 条" in public and "共收到意见 3 条" not in public


def test_the_page_shown_again_after_a_recount_saves_once_read_and_corrected(
    client, counted, coordinator
):
    """It was refused for good: the page shown again carried the earlier count's time, so
    every save of it was refused too, and reopening the page lost what was typed."""
    report = counted
    consultation = report.consultation
    client.force_login(coordinator)
    url = f"{REPORTS}{report.pk}/change/"
    stale = page_data(client.get(url))
    line = report.lines.get(clause__label="二(四)2")
    stale[gist_key(stale, line)] = "采纳补偿标准的建议。"
    submit(consultation, "二(四)2", "补充一条意见。")
    Comment.objects.update(status="answered", decision="adopted", reply="已采纳。")
    report_generate(consultation)

    shown = page_data(client.post(url, stale))
    assert shown[gist_key(shown, line)] == "采纳补偿标准的建议。"
    # The introduction typed for the earlier count is refused against the count shown now.
    refused = client.post(url, shown)
    assert refused.status_code == 200
    assert "introduction" in refused.context["adminform"].form.errors
    shown["introduction"] = shown["introduction"].replace("共收到意见 3 条", "共收到意见 4 条")
    assert client.post(url, shown).status_code == 302
    report.refresh_from_db()
    line.refresh_from_db()
    assert report.reviewed_by == coordinator
    assert (line.comments, line.gist) == (3, "采纳补偿标准的建议。")


def test_a_page_opened_before_a_recount_that_dropped_a_line_is_refused_not_an_error(
    client, counted, coordinator
):
    """The line the page shows is gone after the recount: a form error, not a server error."""
    report = counted
    client.force_login(coordinator)
    url = f"{REPORTS}{report.pk}/change/"
    stale = page_data(client.get(url))
    whole = report.lines.get(clause__isnull=True)
    stale[gist_key(stale, whole)] = "支持方案的意见已采纳。"
    Comment.objects.filter(clause__isnull=True).update(status="invalid", invalid_reason="重复")
    report_generate(report.consultation)

    response = client.post(url, stale)
    assert response.status_code == 200
    assert RECOUNTED in response.content.decode()
    report.refresh_from_db()
    assert report.reviewed_at is None
    assert not report.lines.filter(clause__isnull=True).exists()


def test_a_page_without_its_count_is_refused(client, counted, coordinator):
    """A post that does not say which count it shows is no review of any."""
    report = counted
    client.force_login(coordinator)
    url = f"{REPORTS}{report.pk}/change/"
    data = page_data(client.get(url))
    del data["counted_at"]
    response = client.post(url, data)
    assert response.status_code == 200 and RECOUNTED in response.content.decode()
    report.refresh_from_db()
    assert report.reviewed_at is None


def test_a_review_of_an_earlier_count_is_refused(counted, coordinator):
    """report_review stands behind the count it names, and only today's."""
    earlier = counted.generated_at
    report = report_generate(counted.consultation)
    with pytest.raises(ValidationError) as refused:
        report_review(report, by=coordinator, counted_at=earlier)
    assert refused.value.code == "recounted"
    with pytest.raises(ValidationError):
        report_review(report, by=coordinator, counted_at=None)
    assert AdoptionReport.objects.get(pk=report.pk).reviewed_at is None
    report_review(report, by=coordinator, counted_at=report.generated_at)
    assert AdoptionReport.objects.get(pk=report.pk).reviewed_by == coordinator


def test_two_coordinators_on_one_report_keep_each_others_gists_and_introduction(counted):
    """Found by a review: B's page, opened beside A's, saved A's gist back to empty and A's
    introduction to the text B was shown, and counted as B's review of them."""
    from django.test import Client

    def colleague(name):
        user = User.objects.create_user(name, password="pw")
        staff_join(user, Department.objects.get(name="市海渔局"))
        client = Client()
        client.force_login(user)
        return client

    a, b = colleague("a"), colleague("b")
    url = f"{REPORTS}{counted.pk}/change/"
    page_a, page_b = page_data(a.get(url)), page_data(b.get(url))
    line = counted.lines.get(clause__label="二(四)2")
    page_a[gist_key(page_a, line)] = "采纳补偿标准的建议，已在第二稿中明确。"
    page_a["introduction"] += "（A 补充的说明）"
    assert a.post(url, page_a).status_code == 302
    page_b["unanswered_reason"] = "无。"
    assert b.post(url, page_b).status_code == 302
    line.refresh_from_db()
    counted.refresh_from_db()
    assert line.gist == "采纳补偿标准的建议，已在第二稿中明确。"
    assert "A 补充的说明" in counted.introduction
    assert counted.unanswered_reason == "无。"
    # Both typing into the same gist: the later save is shown again with the gist now.
    page_a, page_b = page_data(a.get(url)), page_data(b.get(url))
    page_a[gist_key(page_a, line)] = "A 的新要点。"
    assert a.post(url, page_a).status_code == 302
    page_b[gist_key(page_b, line)] = "B 的新要点。"
    refused = b.post(url, page_b)
    assert refused.status_code == 200
    assert "A 的新要点" in refused.content.decode()
    line.refresh_from_db()
    assert line.gist == "A 的新要点。"


def test_a_published_report_is_shown_read_only(counted, coordinator, client):
    report_review(counted, by=coordinator, counted_at=counted.generated_at)
    with after_close(counted.consultation):
        report_publish(counted.consultation)
    client.force_login(coordinator)
    response = client.get(f"{REPORTS}{counted.pk}/change/")
    assert response.status_code == 200
    assert "values_shown" not in response.content.decode()
