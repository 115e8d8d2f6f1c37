"""The admin's 导入修改稿: a coordinator imports a later draft, confirms or corrects each proposed
link (low scores flagged), then publishes it (发布修改稿); nobody else can."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consult.consultations.models import ClauseLink, Revision
from consult.consultations.services import staff_join
from tests.factories import DepartmentFactory
from tests.support.revisions import DRAFT2

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(client, weifang_open):
    user = get_user_model().objects.create_user("coordinator", password="pw-123456")
    staff_join(user, weifang_open.issuer)
    client.force_login(user)
    return user


def _import_url(consultation):
    return reverse("admin:consultations_consultation_import_revision", args=[consultation.pk])


def _links_url(revision):
    return reverse("admin:consultations_revision_links", args=[revision.pk])


def test_a_coordinator_imports_confirms_corrects_and_publishes(client, weifang_open, coordinator):
    change = reverse("admin:consultations_consultation_change", args=[weifang_open.pk])
    assert _import_url(weifang_open) in client.get(change).content.decode()
    assert client.get(_import_url(weifang_open)).status_code == 200

    response = client.post(
        _import_url(weifang_open), {"text": DRAFT2.read_text("utf-8"), "final": ""}
    )
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    assert response.status_code == 302 and response["Location"] == _links_url(revision)

    page = client.get(_links_url(revision)).content.decode()
    # The first draft is still open: publishing this one ends its period, and the page says so.
    assert 'id="ends-running-period"' in page
    low = [link for link in revision.links.all() if link.score < 0.75]
    assert page.count('class="low-score"') == len(low)
    assert "disabled" in page  # publishing waits for every link

    # Refused while links are unconfirmed: nothing is published.
    client.post(_links_url(revision), {"action": "publish"})
    revision.refresh_from_db()
    assert revision.published_at is None

    # The coordinator corrects one link and confirms the rest.
    first = weifang_open.current_revision
    new = revision.clauses.get(label="二(一)2")
    response = client.post(_links_url(revision), {"action": "correct", "new": new.pk, "olds": []})
    assert response.status_code == 302
    assert revision.links.get(new=new).kind == ClauseLink.Kind.NEW
    assert (
        client.post(
            _links_url(revision), {"action": "drop", "old": first.clauses.get(label="二(三)3").pk}
        ).status_code
        == 302
    )
    client.post(
        _links_url(revision),
        {"action": "confirm", "links": list(revision.links.values_list("pk", flat=True))},
    )
    assert not revision.links.filter(confirmed_at__isnull=True).exists()
    assert set(revision.links.values_list("confirmed_by", flat=True)) == {coordinator.pk}

    client.post(_links_url(revision), {"action": "publish"})
    revision.refresh_from_db()
    weifang_open.refresh_from_db()
    assert revision.published_at is not None
    assert weifang_open.current_revision == revision


def test_an_upload_is_read_in_its_encoding_and_bad_input_is_named(
    client, weifang_open, coordinator
):
    response = client.post(_import_url(weifang_open), {"text": "", "final": ""})
    assert response.status_code == 200
    assert "请粘贴修改稿全文或上传文件。" in response.content.decode()

    response = client.post(_import_url(weifang_open), {"text": "没有条款也没有截止日期的一段话。"})
    assert response.status_code == 200
    assert not Revision.objects.filter(number=2).exists()

    # A NUL the database cannot store (UTF-16 read as UTF-8 is full of them): a 500 before.
    nul = DRAFT2.read_text("utf-8").replace("。", "。\x00", 1).encode("utf-8")
    response = client.post(_import_url(weifang_open), {"file": SimpleUploadedFile("d.txt", nul)})
    assert response.status_code == 200
    assert "无法识别文件的编码" in response.content.decode()
    assert not Revision.objects.filter(number=2).exists()

    upload = SimpleUploadedFile("draft2.txt", DRAFT2.read_text("utf-8").encode("gb18030"))
    response = client.post(_import_url(weifang_open), {"file": upload, "final": "on"})
    assert response.status_code == 302
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    assert revision.is_final and revision.clauses.filter(label="二(四)1").exists()


def test_a_draft_that_cannot_be_imported_is_refused_in_the_admin_s_language(
    client, weifang_open, coordinator
):
    # The importer's reasons were Chinese in an English admin, and told a coordinator at a
    # form to use the command line's --final.
    no_deadline = DRAFT2.read_text("utf-8").replace("前反馈", "反馈")
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    page = client.post(
        _import_url(weifang_open), {"text": no_deadline, "final": ""}, **english
    ).content.decode()
    assert "No deadline was found in the revised draft" in page
    assert "tick “Final text”" in page and "Final text" in page
    page = client.post(
        _import_url(weifang_open), {"text": "没有条款也没有截止日期的一段话。"}, **english
    ).content.decode()
    assert "No signature block was found" in page
    assert not Revision.objects.filter(number=2).exists()


def test_a_correction_naming_another_revision_s_clause_is_a_form_error(
    client, weifang_open, coordinator
):
    client.post(_import_url(weifang_open), {"text": DRAFT2.read_text("utf-8")})
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    old = weifang_open.current_revision.clauses.first()
    response = client.post(_links_url(revision), {"action": "correct", "new": old.pk})
    assert response.status_code == 200
    response = client.post(_links_url(revision), {"action": "drop", "old": "x"})
    assert response.status_code == 200
    response = client.post(_links_url(revision), {"action": "nonsense"})
    assert response.status_code == 302


def test_staff_of_another_bureau_cannot_import_or_publish(client, weifang_open):
    user = get_user_model().objects.create_user("other", password="pw-123456")
    staff_join(user, DepartmentFactory(name="市财政局"))
    client.force_login(user)
    assert client.get(_import_url(weifang_open)).status_code in (403, 404)
    assert not Revision.objects.filter(number=2).exists()


def test_the_import_names_departments_it_created_without_a_mailbox(
    client, weifang_open, coordinator
):
    """Departments the second draft names for the first time (市统计局 in the fixture, 市水利局
    here) have no mailbox: until someone gives them one, the comments routed to them reach
    nobody, so the coordinator is told."""
    text = DRAFT2.read_text("utf-8").replace("市商务局", "市水利局", 1)
    assert "市水利局" in text

    response = client.post(_import_url(weifang_open), {"text": text, "final": ""}, follow=True)

    (warning,) = [m for m in response.context["messages"] if m.level_tag == "warning"]
    assert "修改稿中有 2 个新部门，尚无通知邮箱：市水利局、市统计局。" in str(warning)


def test_a_revision_imported_by_mistake_is_deleted_and_imported_again(
    client, weifang_open, coordinator
):
    """Found by a review: nothing could delete it, and importing the right text was refused
    while it stood unpublished; the only way on was to publish the wrong text."""
    client.post(_import_url(weifang_open), {"text": DRAFT2.read_text("utf-8"), "final": ""})
    wrong = Revision.objects.get(consultation=weifang_open, number=2)
    clauses = list(wrong.clauses.values_list("pk", flat=True))
    assert 'id="delete-form"' in client.get(_links_url(wrong)).content.decode()

    unticked = client.post(_links_url(wrong), {"action": "delete"})
    assert unticked.status_code == 200
    assert "请勾选确认后再删除" in unticked.content.decode()
    assert Revision.objects.filter(pk=wrong.pk).exists()

    deleted = client.post(_links_url(wrong), {"action": "delete", "confirm": "on"})
    change = reverse("admin:consultations_consultation_change", args=[weifang_open.pk])
    assert deleted.status_code == 302 and deleted["Location"] == change
    assert not Revision.objects.filter(pk=wrong.pk).exists()
    assert not weifang_open.clauses.filter(pk__in=clauses).exists()
    weifang_open.refresh_from_db()
    assert weifang_open.current_revision.number == 1

    client.post(_import_url(weifang_open), {"text": DRAFT2.read_text("utf-8"), "final": "on"})
    right = Revision.objects.get(consultation=weifang_open, number=2)
    assert right.is_final


def test_an_unpublished_draft_s_period_is_shown_and_corrected_before_publishing(
    client, weifang_open, coordinator
):
    """The period read from the notice was not shown, and could not be put right: a draft whose
    dates had passed went out taking no comments."""
    import datetime

    from django.utils import timezone

    client.post(_import_url(weifang_open), {"text": DRAFT2.read_text("utf-8"), "final": ""})
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    page = client.get(_links_url(revision)).content.decode()
    shown = timezone.localtime(revision.closes_at).strftime("%Y-%m-%d %H:%M:%S")
    assert shown in page
    assert "已经截止" in page  # the notice's own dates are long past

    opens = timezone.localtime(weifang_open.closes_at) + datetime.timedelta(days=1)
    closes = opens + datetime.timedelta(days=30)
    fmt = "%Y-%m-%d %H:%M:%S"
    reversed_period = {"action": "period", "opens_at": closes.strftime(fmt)}
    reversed_period["closes_at"] = opens.strftime(fmt)
    refused = client.post(_links_url(revision), reversed_period)
    revision.refresh_from_db()
    assert timezone.localtime(revision.closes_at).strftime(fmt) == shown  # refused
    # ... on the page itself, with what was typed kept to correct (a redirect emptied it).
    assert refused.status_code == 200
    period_form = refused.context["forms"]["period"]
    assert period_form.non_field_errors() == ["截止时间须晚于开始时间。"]
    assert period_form["opens_at"].value() == closes.strftime(fmt)
    assert period_form["closes_at"].value() == opens.strftime(fmt)
    assert 'class="errorlist nonfield"' in refused.content.decode()

    period = {
        "action": "period",
        "opens_at": opens.strftime(fmt),
        "closes_at": closes.strftime(fmt),
    }
    assert client.post(_links_url(revision), period).status_code == 302
    revision.refresh_from_db()
    assert (revision.opens_at, revision.closes_at) == (
        opens.replace(microsecond=0),
        closes.replace(microsecond=0),
    )
    assert "已经截止" not in client.get(_links_url(revision)).content.decode()


def test_a_published_revision_is_neither_deleted_nor_given_another_period(weifang_open):
    from django.core.exceptions import ValidationError

    from consult.consultations.revisions import revision_delete, revision_period_set
    from tests.support.revisions import weifang_second_draft

    second = weifang_second_draft(weifang_open)
    with pytest.raises(ValidationError):
        revision_delete(second)
    with pytest.raises(ValidationError):
        revision_period_set(second, opens_at=None, closes_at=None)
    assert Revision.objects.filter(pk=second.pk, published_at__isnull=False).exists()


def test_a_close_typed_as_a_day_alone_takes_comments_to_its_last_second(
    client, weifang_open, coordinator
):
    """ "2027-06-30" was read as that day's first second: the draft closed a day early, and the
    page warned of nothing while the day was still ahead. A time typed is kept as typed."""
    import datetime

    from django.utils import timezone

    client.post(_import_url(weifang_open), {"text": DRAFT2.read_text("utf-8"), "final": ""})
    revision = Revision.objects.get(consultation=weifang_open, number=2)
    opens = timezone.localdate(weifang_open.closes_at) + datetime.timedelta(days=1)
    closes = opens + datetime.timedelta(days=30)
    for typed, kept in (
        (closes.isoformat(), "23:59:59"),
        (f"{closes:%Y/%m/%d}", "23:59:59"),
        (f"{closes:%Y%m%d}", "23:59:59"),
    ):
        period = {"action": "period", "opens_at": opens.isoformat(), "closes_at": typed}
        assert client.post(_links_url(revision), period).status_code == 302
        revision.refresh_from_db()
        assert timezone.localtime(revision.opens_at).strftime("%Y-%m-%d %H:%M:%S") == (
            f"{opens.isoformat()} 00:00:00"
        )
        assert timezone.localtime(revision.closes_at).strftime("%Y-%m-%d %H:%M:%S") == (
            f"{closes.isoformat()} {kept}"
        )
    period["closes_at"] = f"{closes.isoformat()} 00:00"
    assert client.post(_links_url(revision), period).status_code == 302
    revision.refresh_from_db()
    assert timezone.localtime(revision.closes_at).time() == datetime.time(0, 0)
    # The English admin reads dates as English writes them (found by a review).
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    for typed in (f"{closes:%b %d %Y}", f"{closes:%B %d, %Y}", f"{closes:%d %B %Y}"):
        period["closes_at"] = typed
        assert client.post(_links_url(revision), period).status_code == 302, typed
        revision.refresh_from_db()
        assert timezone.localtime(revision.closes_at).time() == datetime.time(23, 59, 59), typed
