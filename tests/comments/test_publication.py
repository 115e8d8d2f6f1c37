"""Publishing comments with their submitters' consent: the bureau's review, the database's
guarantee, the masking, the public counts and who may decide (comments.publication)."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from consult.comments.models import Comment, CommentEvent
from consult.comments.privacy import personal_data_masked
from consult.comments.publication import (
    answer_published,
    comment_as_published,
    comment_publish,
    comment_withhold,
    comments_moderated_by,
    comments_published,
    may_moderate,
    publication_for_submitter,
)
from consult.comments.retention import personal_data_purge
from consult.comments.services import comment_submit
from consult.comments.tallies import consultation_tallies, tallies_rebuild
from consult.comments.workflow import CommentChange, comment_change_apply
from consult.consultations.models import Consultation, Revision
from tests.support.people import member
from tests.support.revisions import weifang_second_draft

pytestmark = pytest.mark.django_db

ISSUER = "市海渔局"  # issued the Weifang consultation
NAME, PHONE, EMAIL, ORGANISATION = "王建国", "13812345678", "wjg@example.cn", "潍坊某某渔业协会"


def submit(consultation, *, label="二(三)4", publish_consent=True, body=None, **extra):
    return comment_submit(
        consultation=consultation,
        clause=consultation.current_clauses().get(label=label) if label else None,
        body=body or "建议明确集聚区的评价指标，并公开评选结果。",
        channel="web",
        consent=True,
        publish_consent=publish_consent,
        submitter_name=NAME,
        phone=PHONE,
        email=EMAIL,
        **extra,
    ).comment


def published_count(consultation, clause_id):
    return consultation_tallies(consultation.pk).published_by_clause.get(clause_id, 0)


def test_consent_to_publish_is_separate_and_off_unless_given(weifang_open):
    without = submit(weifang_open, publish_consent=False)
    assert (without.publish_consent, without.publish_consent_at) == (False, None)
    assert without.publication == Comment.Publication.PRIVATE
    given = submit(weifang_open)
    assert given.publish_consent and given.publish_consent_at == given.submitted_at
    assert given.publication == Comment.Publication.AWAITING
    assert comments_published(weifang_open, given.clause).count() == 0


def test_the_database_refuses_to_publish_without_consent(weifang_open):
    comment = submit(weifang_open, publish_consent=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.filter(pk=comment.pk).update(
            publication="published", publication_decided_at=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.filter(pk=comment.pk).update(publication="awaiting")
    consented = submit(weifang_open)
    with pytest.raises(IntegrityError), transaction.atomic():
        Comment.objects.filter(pk=consented.pk).update(publication="withheld")  # no reason


def test_the_issuing_bureau_publishes_and_the_count_follows(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open)
    assert may_moderate(bureau, weifang_open)
    published = comment_publish(comment=comment, user=bureau)
    assert published.publication == "published" and published.publication_decided_by == bureau
    assert list(comments_published(weifang_open, comment.clause)) == [comment]
    assert published_count(weifang_open, comment.clause_id) == 1
    comment_publish(comment=comment, user=bureau)  # twice: counted once
    assert published_count(weifang_open, comment.clause_id) == 1

    comment_withhold(comment=comment, user=bureau, reason="文中含有他人姓名。")
    comment.refresh_from_db()
    assert comment.publication == "withheld" and comment.publication_reason == "文中含有他人姓名。"
    assert published_count(weifang_open, comment.clause_id) == 0
    assert comments_published(weifang_open, comment.clause).count() == 0
    kinds = list(comment.events.filter(kind=CommentEvent.Kind.PUBLICATION).values_list("after"))
    assert kinds == [("published",), ("published",), ("withheld",)]

    tallies_rebuild([weifang_open.pk])
    assert published_count(weifang_open, comment.clause_id) == 0


def test_withholding_needs_a_reason(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open)
    with pytest.raises(ValidationError) as refused:
        comment_withhold(comment=comment, user=bureau, reason="  ")
    assert "publication_reason" in refused.value.message_dict
    comment.refresh_from_db()
    assert comment.publication == "awaiting"


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("含他人信息\x0c第二页", "控制字符"),
        ("含他人信息\x00", "控制字符"),
        ("理由" * 251, "最多 500 个字符"),
    ],
)
def test_a_reason_for_withholding_follows_the_rules_of_staff_texts(
    client, weifang_open, reason, said
):
    """The bulk action read the reason raw: a control character (pasted from a PDF) was stored,
    and one over 500 characters only got Django's "no action selected"."""
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open)
    with pytest.raises(ValidationError) as refused:
        comment_withhold(comment=comment, user=bureau, reason=reason)
    assert said in refused.value.message_dict["publication_reason"][0]
    client.force_login(bureau)
    response = client.post(
        REVIEW,
        {"action": "withhold", "_selected_action": [comment.pk], "reason": reason},
        follow=True,
    )
    page = response.content.decode()
    assert "不予公开的理由" in page and said in page
    comment.refresh_from_db()
    assert (comment.publication, comment.publication_reason) == ("awaiting", "")


def test_a_comment_without_consent_or_marked_invalid_is_never_published(weifang_open):
    bureau = member("hyj", ISSUER)
    private = submit(weifang_open, publish_consent=False)
    with pytest.raises(ValidationError):
        comment_publish(comment=private, user=bureau)
    invalid = submit(weifang_open, body="广告：优惠出售渔具，欢迎来电。")
    comment_change_apply(invalid, bureau, CommentChange(status="invalid", invalid_reason="广告。"))
    with pytest.raises(ValidationError):
        comment_publish(comment=invalid, user=bureau)
    assert comments_published(weifang_open, whole_consultation=True).count() == 0
    assert consultation_tallies(weifang_open.pk).published_total == 0


def test_a_published_comment_marked_invalid_leaves_the_list(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = comment_publish(comment=submit(weifang_open), user=bureau)
    comment_change_apply(comment, bureau, CommentChange(status="invalid", invalid_reason="重复。"))
    comment.refresh_from_db()
    assert comments_published(weifang_open, comment.clause).count() == 0
    assert publication_for_submitter(comment)[0] == "withheld"
    # Withholding it now takes nothing more off the public count.
    comment_withhold(comment=comment, user=bureau, reason="无效意见。")
    assert comments_published(weifang_open, comment.clause).count() == 0


def test_marking_a_published_comment_invalid_takes_it_off_the_public_count(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = comment_publish(comment=submit(weifang_open), user=bureau)
    assert published_count(weifang_open, comment.clause_id) == 1
    comment_change_apply(comment, bureau, CommentChange(status="invalid", invalid_reason="重复。"))
    assert published_count(weifang_open, comment.clause_id) == 0
    comment_change_apply(comment, bureau, CommentChange(status="pending"))
    assert published_count(weifang_open, comment.clause_id) == 1


def test_only_the_issuing_bureau_and_superusers_moderate(weifang_open):
    comment = submit(weifang_open)
    lead = comment.routes.get(is_owner=True).department
    assert lead.name != ISSUER
    answering = member("lead", lead.name)
    assert not may_moderate(answering, weifang_open)
    assert comments_moderated_by(answering).count() == 0
    with pytest.raises(PermissionDenied):
        comment_publish(comment=comment, user=answering)
    with pytest.raises(PermissionDenied):
        comment_withhold(comment=comment, user=answering, reason="不同意。")
    comment.refresh_from_db()
    assert comment.publication == "awaiting"

    root = User.objects.create_superuser("root", password="pw")
    assert may_moderate(root, weifang_open)
    assert comment_publish(comment=comment, user=root).is_published
    inactive = member("gone", ISSUER)
    inactive.is_active = False
    assert not may_moderate(inactive, weifang_open)


def test_what_is_published_carries_no_personal_data(weifang_open):
    body = (
        f"我是{NAME}，{ORGANISATION}会长。建议公开评选结果，有问题请打 138-1234-5678 "
        f"或 0536-8123688，邮件 {EMAIL}，身份证 370702199001011234。"
    )
    comment = submit(
        weifang_open, body=body, submitter_kind="organisation", organisation=ORGANISATION
    )
    shown = comment_as_published(comment)
    for personal in (NAME, ORGANISATION, "138-1234-5678", "8123688", EMAIL, "370702199001011234"):
        assert personal not in shown.body
    assert "138****5678" in shown.body and "w***@example.cn" in shown.body
    assert "建议公开评选结果" in shown.body
    assert shown.kind == "社会组织" and comment.tracking_number not in repr(shown)
    assert personal_data_masked("１３８１２３４５６７８") == "138****5678"


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("008613812345678", "138****5678"),
        ("8613812345678", "138****5678"),  # 86 without + or 00: published in full
        ("86 138 1234 5678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("138\u30001234\u30005678", "138****5678"),  # full-width spaces
        ("138\u00a01234\u00a05678", "138****5678"),  # no-break spaces
        ("139.0000.0001", "139****0001"),
        # Landlines as letterheads give them to callers from abroad (found by a review).
        ("+86-536-8123688", "0536-****688"),
        ("0086 10 8888 6666", "010-****666"),
        ("+86 10 1234 5678", "010-****678"),
        ("+86 536-8123688", "0536-****688"),
        ("+86 (0)536-8123688", "0536-****688"),
        ("+86 536 8123688-12", "0536-****688"),
        ("0536 812 3688", "0536-****688"),
        # The area code in brackets from abroad, and a local number as 4 and 3 (a review).
        ("+86 (536) 8123688", "0536-****688"),
        ("+86(10)88886666", "010-****666"),
        ("+86-(0536)-8123688", "0536-****688"),
        ("0536 8888 888", "0536-****888"),
        ("+86 536 8888 888", "0536-****888"),
        # QQ numbers and WeChat IDs, after the word for them (found by a review).
        ("QQ号 123456789", "QQ号 1********"),
        ("ＱＱ：987654", "ＱＱ：9*****"),
        ("微信 zhangsan_1990", "微信 z************"),
        ("微信号：wxid_abc123", "微信号：w**********"),
        ("WeChat ID: wangwu2024", "WeChat ID: w*********"),
        # After a colon, an ID of letters alone too (a review of the change).
        ("联系微信：wangxiaoming", "联系微信：w***********"),
        ("WeChat: zhangsan", "WeChat: z*******"),
        ("QQ: 88888 问卷", "QQ: 8**** 问卷"),
        ("微信号：ZhangSan88", "微信号：Z*********"),
        ("139—0000—0001", "139****0001"),  # em dashes
        ("139–0000–0001", "139****0001"),  # en dashes
        ("139_0000_0001", "139****0001"),
        ("139  0000  0001", "139****0001"),
        ("139 - 0000 - 0001", "139****0001"),
        ("3707.0219.9001.0112.34", "37****************"),
        ("370702900101123", "37*************"),  # the older 15-digit ID number
        ("370702 19900101 1234", "37****************"),
        ("3707 0219 9001 0112 34", "37****************"),
        # Characters without width: the number looks whole on screen.
        ("138\u200b1234\u200b5678", "138****5678"),
        ("138\u20601234\ufeff5678", "138****5678"),
        ("1\u200d3\u200c8\u00ad1234\u200e5678", "138****5678"),
        ("wang\u200bwu@exam\u200bple.cn", "w***@example.cn"),
        ("zhang@例子.中国", "z***@例子.中国"),  # an internationalised domain
        ("zhang@例子.cn", "z***@例子.cn"),
        ("370702\u200b19900101\u200b1234", "37****************"),
        ("1\u200b3\u200b8\u200b1\u200b2\u200b3\u200b4\u200b5\u200b6\u200b7\u200b8", "138****5678"),
        # What the comment's length does not count (consult.text.INVISIBLE), every kind.
        ("138\u034f1234\u034f5678", "138****5678"),
        ("138\ufe0f1234\u180b5678", "138****5678"),
        ("138\u206a1234\U000e00205678", "138****5678"),
        ("138\u31641234\u061c5678", "138****5678"),
        # Spelt out a digit at a time (found by a review).
        ("1 3 8 1 2 3 4 5 6 7 8", "138****5678"),
        ("1-3-8-1-2-3-4-5-6-7-8", "138****5678"),
    ],
)
def test_phone_and_id_numbers_are_masked_however_they_are_written(written, masked):
    assert personal_data_masked(f"联系方式：{written}。谢谢") == f"联系方式：{masked}。谢谢"


@pytest.mark.parametrize(
    "text",
    [
        "编号 86-10-2024-0001",
        "项目编号：86-512-2024-1234",
        "86\t125\t3456\t7890",
        "得分：86 92 7845 1234",
        "2024.86.10.1234.5678",
        "+86 92 7845 1234",  # no such area code
        # An area code, a year and a serial: a document's number, not a telephone's (a review
        # of the 4-and-3 grouping).
        "项目编号 0531-2024-001",
        "合同号：0755-2023-118",
        "统一编码 023-2021-365",
        "标段 010 2024 100",
        # Words that only name the services.
        "关注微信公众号",
        "via the WeChat platform",
        "QQ群 2024年",
        "微信支付100元",
        "QQ: 40001条反馈",
        "QQ: 40001 条反馈",
        "QQ 88888份问卷",
        "Contact via WeChat: Please reply",
        "微信：Android版本无法打开链接",
        # A word after the service's name is no ID (found by reviews of the change).
        "建议支持微信Android版",
        "建议适配微信HarmonyOS4版本",
        "开通微信 service 功能",
        "微信 iPhone 用户",
        # Numbers a digit at a time, but not eleven of them each apart.
        "第1 3 5 7 9 11 13 15条",
    ],
)
def test_runs_of_numbers_that_only_look_like_a_landline_from_abroad_are_kept(text):
    """Found by a review: 86 alone, or an area code of no numbering plan, masked a reference
    number or a row of scores."""
    assert personal_data_masked(text) == text


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("联系电话8123688", "联系电话****688"),
        ("座机：812-3688，谢谢", "座机：****688，谢谢"),
        ("电话号码 81236880", "电话号码 ****880"),
        ("Tel: 8123688", "Tel: ****688"),
        # Seven or eight digits without a word saying they are a phone: an amount, kept.
        ("预算8123688元", "预算8123688元"),
        ("共计电话费12345678元", "共计电话费12345678元"),
        # Prices, years and words that only end like one (found by a review of the change).
        ("建议对手机3000-6000元价格段提高补贴", "建议对手机3000-6000元价格段提高补贴"),
        ("The hotel 2019-2023 figures", "The hotel 2019-2023 figures"),
        ("phone 2019-2023 figures", "phone 2019-2023 figures"),
        ("固话2023/2024年度资费应下调", "固话2023/2024年度资费应下调"),
        ("Call my phone: 8123688.", "Call my phone: ****688."),
    ],
)
def test_a_local_number_without_its_area_code_is_masked_after_a_word_naming_it(written, masked):
    # How neighbours write a Weifang number; published in full while an area code was required.
    assert personal_data_masked(written) == masked


def test_characters_without_width_outside_what_is_masked_are_kept():
    """Masking took every zero-width joiner out of the published text: a family emoji fell
    apart into three faces."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert personal_data_masked(f"好主意{family}，电话13812345678") == (
        f"好主意{family}，电话138****5678"
    )


def test_the_text_stays_masked_as_reviewed_after_the_personal_data_is_deleted(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open, body=f"我是{NAME}，建议公开评选结果。")
    comment_publish(comment=comment, user=bureau)
    # What the retention job does once the period is over: the name goes, the text stays.
    Comment.objects.filter(pk=comment.pk).update(
        submitter_name="", phone="", email="", personal_data_removed_at=timezone.now()
    )
    (shown,) = [comment_as_published(c) for c in comments_published(weifang_open, comment.clause)]
    assert NAME not in shown.body and "建议公开评选结果" in shown.body


def _published_and_answered(consultation, reply, *, label="二(四)2", **extra):
    bureau = member(f"hyj{Comment.objects.count()}", ISSUER)
    # 市生态环境局 answers 二(四)2 alone: no cooperating opinions to wait for.
    comment = submit(consultation, label=label, **extra)
    comment = comment_publish(comment=comment, user=bureau)
    owner_department = comment.routes.get(is_owner=True).department
    owner = member(f"owner{comment.pk}", owner_department.name)
    comment_change_apply(
        comment,
        owner,
        CommentChange(
            status="answered", decision="adopted", reply=reply, waive_reason="限时答复。"
        ),
    )
    return Comment.objects.select_related("consultation").get(pk=comment.pk)


def _report_published(revision):
    Revision.objects.filter(pk=revision.pk).update(report_published_at=timezone.now())


def test_the_answer_is_public_once_answered_and_the_report_published(weifang_open):
    reply = f"感谢{NAME}的建议，评选结果将公开。如有疑问请致电 13912345678。"
    comment = _published_and_answered(weifang_open, reply)
    assert not answer_published(comment) and comment_as_published(comment).answer is None

    _report_published(weifang_open.current_revision)
    comment = Comment.objects.select_related("consultation").get(pk=comment.pk)
    answer = comment_as_published(comment).answer
    assert answer.decision == "采纳" and "评选结果将公开" in answer.reply
    assert NAME not in answer.reply and "13912345678" not in answer.reply


def test_the_answer_goes_public_with_the_report_on_the_comment_s_own_revision(weifang_open):
    """Publishing a later draft for comment clears the consultation's report date: the answers
    given on the first draft stay public, and a report on the first draft publishes none of
    the answers to comments on the second."""
    on_first = _published_and_answered(weifang_open, "已采纳。")
    second = weifang_second_draft(weifang_open)
    on_second = _published_and_answered(weifang_open, "已采纳。")
    assert on_second.clause.revision == second
    _report_published(weifang_open.revisions.get(number=1))
    weifang_open.refresh_from_db()
    assert weifang_open.report_published_at is None
    shown = {
        c.pk: comment_as_published(c).answer
        for c in comments_published(weifang_open, whole_consultation=True)
    }
    assert shown[on_first.pk] is not None and shown[on_second.pk] is None
    _report_published(second)
    assert all(
        comment_as_published(c).answer
        for c in comments_published(weifang_open, whole_consultation=True)
    )


def _queries_listing(consultation, django_assert_max_num_queries, most):
    with django_assert_max_num_queries(most) as queries:
        answers = [
            comment_as_published(c).answer
            for c in comments_published(consultation, whole_consultation=True)
        ]
    assert all(answers)
    return len(queries)


def test_listing_published_answers_reads_the_report_dates_once(
    weifang_open, django_assert_max_num_queries
):
    for _n in range(2):
        _published_and_answered(weifang_open, "已采纳。")
    _report_published(weifang_open.current_revision)
    few = _queries_listing(weifang_open, django_assert_max_num_queries, 5)
    for _n in range(4):
        _published_and_answered(weifang_open, "已采纳。")
    assert _queries_listing(weifang_open, django_assert_max_num_queries, 5) == few


def test_the_answer_stays_masked_after_the_personal_data_is_deleted(weifang_open):
    """The retention job deletes the name the masking needs: it keeps the answer as masked."""
    comment = _published_and_answered(weifang_open, f"感谢{NAME}的建议。")
    Comment.objects.filter(pk=comment.pk).update(decision_reason=f"{NAME}所提建议可行。")
    _report_published(weifang_open.current_revision)
    later = timezone.now() + datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS + 60)
    Consultation.objects.filter(pk=weifang_open.pk).update(
        report_published_at=timezone.now(), closes_at=timezone.now()
    )
    assert personal_data_purge(now=later) == 1
    comment = Comment.objects.select_related("consultation").get(pk=comment.pk)
    assert comment.submitter_name == ""
    answer = comment_as_published(comment).answer
    assert answer.reply == "感谢＊＊的建议。" and answer.reason == "＊＊所提建议可行。"


def test_an_answer_given_after_the_personal_data_is_deleted_is_published(weifang_open):
    """A draft closed longer ago than the retention, with no report yet: the purge runs while
    the comment waits for its answer. The answer given after was published empty — 不予采纳
    without its reason — as the copy kept at the purge was (found by a review)."""
    comment = comment_publish(comment=submit(weifang_open), user=member("hyj", ISSUER))
    now = timezone.now()
    Consultation.objects.filter(pk=weifang_open.pk).update(
        opens_at=now - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS + 40),
        closes_at=now - datetime.timedelta(days=settings.PERSONAL_DATA_RETENTION_DAYS + 10),
    )
    assert personal_data_purge(now=now) == 1
    comment_change_apply(
        Comment.objects.get(pk=comment.pk),
        member("gxj", "市工信局"),  # answers 二(三)4
        CommentChange(
            status="answered",
            decision="not_adopted",
            decision_reason="与上位法规定不符，请致电 13812349999 了解。",
            reply="感谢您的建议，经研究暂不采纳。",
            waive_reason="限时答复。",
        ),
    )
    _report_published(weifang_open.current_revision)

    answer = comment_as_published(Comment.objects.get(pk=comment.pk)).answer

    assert answer.reply == "感谢您的建议，经研究暂不采纳。"
    # Masked by what is left to mask: the name is gone, a number is still a number.
    assert answer.reason == "与上位法规定不符，请致电 138****9999 了解。"


def test_a_comment_whose_personal_data_is_deleted_is_not_published(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open, body=f"我是{NAME}，建议公开评选结果。")
    Comment.objects.filter(pk=comment.pk).update(
        submitter_name="", phone="", email="", personal_data_removed_at=timezone.now()
    )
    with pytest.raises(ValidationError) as refused:
        comment_publish(comment=comment, user=bureau)
    assert "publication" in refused.value.message_dict
    comment.refresh_from_db()
    assert comment.publication == Comment.Publication.AWAITING
    comment_withhold(comment=comment, user=bureau, reason="个人信息已删除。")  # still possible


def test_the_citizen_is_told_where_publication_stands(weifang_open):
    bureau = member("hyj", ISSUER)
    assert publication_for_submitter(submit(weifang_open, publish_consent=False))[0] == "private"
    comment = submit(weifang_open)
    assert publication_for_submitter(comment)[0] == "awaiting"
    comment = comment_withhold(comment=comment, user=bureau, reason="含他人信息。")
    state, words = publication_for_submitter(comment)
    assert state == "withheld" and "含他人信息" not in words
    assert publication_for_submitter(comment_publish(comment=comment, user=bureau))[0] == (
        "published"
    )


# The admin's 公开意见审核 ------------------------------------------------------------------

REVIEW = "/admin/comments/commentforpublication/"


def test_the_review_list_shows_the_text_as_published_and_its_actions_decide(client, weifang_open):
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open, body=f"建议公开评选结果。联系人{NAME}，电话 {PHONE}。")
    submit(weifang_open, publish_consent=False, body="不同意公开的意见，不在审核列表中。")
    client.force_login(bureau)
    page = client.get(REVIEW)
    assert page.status_code == 200
    text = page.content.decode()
    assert f">#{comment.pk}<" in text and "138****5678" in text
    # Staff may see the tracking number (the checkbox's label names the row by it).
    for personal in (NAME, PHONE, EMAIL, "不同意公开的意见"):
        assert personal not in text
    # Nor has a row a page of its own: the admin's read-only page showed every field.
    for view in ("change", "history"):
        assert client.get(f"{REVIEW}{comment.pk}/{view}/").status_code == 403

    refused = client.post(
        REVIEW, {"action": "withhold", "_selected_action": [comment.pk], "reason": ""}
    )
    assert refused.status_code == 302
    comment.refresh_from_db()
    assert comment.publication == "awaiting"

    client.post(REVIEW, {"action": "publish", "_selected_action": [comment.pk]})
    comment.refresh_from_db()
    assert comment.publication == "published"
    assert published_count(weifang_open, comment.clause_id) == 1
    # Taken back from the list of published ones (the list shows those awaiting by default).
    client.post(
        REVIEW + "?publication=published",
        {"action": "withhold", "_selected_action": [comment.pk], "reason": "含他人电话。"},
    )
    comment.refresh_from_db()
    assert (comment.publication, comment.publication_reason) == ("withheld", "含他人电话。")
    assert published_count(weifang_open, comment.clause_id) == 0


def test_a_department_that_did_not_issue_the_draft_reviews_nothing(client, weifang_open):
    comment = submit(weifang_open)
    answering = member("lead", comment.routes.get(is_owner=True).department.name)
    client.force_login(answering)
    page = client.get(REVIEW, {"publication": "all"})
    assert page.status_code == 200 and f">#{comment.pk}<" not in page.content.decode()
    client.post(REVIEW, {"action": "publish", "_selected_action": [comment.pk]})
    comment.refresh_from_db()
    assert comment.publication == "awaiting"


def test_a_comment_marked_invalid_before_review_is_not_told_it_awaits_publication(weifang_open):
    bureau = member("hyj", ISSUER)
    comment = submit(weifang_open)
    comment_change_apply(comment, bureau, CommentChange(status="invalid", invalid_reason="广告。"))
    comment.refresh_from_db()
    with pytest.raises(ValidationError):
        comment_publish(comment=comment, user=bureau)
    assert publication_for_submitter(comment)[0] == "withheld"
    # Back to 待处理, it awaits review again.
    comment_change_apply(comment, bureau, CommentChange(status="pending"))
    comment.refresh_from_db()
    assert publication_for_submitter(comment)[0] == "awaiting"


def test_the_reason_for_not_waiting_is_not_rewritten_after_the_answer(weifang_open):
    """It is the answer's own justification: changed once the comment was answered, it stood
    for grounds the answer was not given on (found by a review)."""
    comment = submit(weifang_open)
    owner = member("gxj", "市工信局")  # answers 二(三)4, with cooperating departments
    comment_change_apply(
        comment,
        owner,
        CommentChange(status="answered", decision="adopted", reply="好。", waive_reason="限时。"),
    )
    with pytest.raises(ValidationError) as refused:
        comment_change_apply(
            Comment.objects.get(pk=comment.pk), owner, CommentChange(waive_reason="后来的理由。")
        )
    assert "status" in refused.value.message_dict
    assert Comment.objects.get(pk=comment.pk).opinions_waived_reason == "限时。"


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("John Smith", "JOHN SMITH"),
        ("John Smith", "John  Smith"),
        ("阿依古丽·买买提", "阿依古丽买买提"),
        ("阿依古丽·买买提", "阿依古丽•买买提"),
        ("阿依古丽买买提", "阿依古丽・买买提"),
        ("Ana María López", "Ana Maria Lopez"),
        ("Ana Maria Lopez", "ANA MARÍA LÓPEZ"),
        ("王五", "王 五"),
        ("王五", "王·五"),
        ("王五", "王\u3000五"),
        # Any space (an em space, a thin one); between a Latin name's words a line break too.
        ("王五", "王\u2003五"),
        ("John Smith", "John\u2009Smith"),
        ("John Smith", "John\nSmith"),
        ("John Smith", "JOHN\r\nSMITH"),
        # Vietnamese letters outside Latin-1 and Extended-A, as written and without their marks
        # (a review of the change found the name as written published).
        ("Nguyễn Văn An", "Nguyễn Văn An"),
        ("Nguyễn Văn An", "NGUYEN VAN AN"),
        ("Lê Thị Ngọc", "Lê Thị Ngọc"),
        # One word: as written, or in capitals.
        ("May", "MAY"),
    ],
)
def test_the_submitter_s_name_is_masked_however_it_is_spelt(name, written):
    """Only the name as typed in the form was masked: in another case, spacing, middle dot or
    without its accents it was published (found by a review)."""
    assert personal_data_masked(f"我是{written}，建议加强渔港建设。", names=[name]) == (
        "我是＊＊，建议加强渔港建设。"
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # A name of one word is not the ordinary word in lower case (a review of the change).
        ("May", "The bureau may reply."),
        ("An", "I suggest an annual review."),
        ("Apple", "apple growers"),
        # Nor two Chinese words across a line break (高峰 is not 提高 and 峰值).
        ("高峰", "建议提高\n峰值产能。"),
        ("Li Ming", "Ask Li\nmingled groups."),  # a line break still needs whole words
        # A line break joins a name's words only where the name has a space, and only one.
        ("Grace Park", "Amazing Grace\n\nPark maintenance is poor."),
        ("He Ran", "Tell her\nan answer."),
        ("Grace Park", "Amazing Grace\r\rPark maintenance is poor."),
        ("Grace Park", "Amazing Grace\u2029Park maintenance is poor."),
        ("Li-", "Ask li about it."),  # a joiner at its end makes it no two-word name
    ],
)
def test_ordinary_words_that_only_resemble_a_name_are_kept(name, text):
    assert personal_data_masked(text, names=[name]) == text


def test_a_latin_name_is_masked_as_a_word_not_inside_one():
    assert personal_data_masked("Li asks for public data, as Mr LI said.", names=["Li"]) == (
        "＊＊ asks for public data, as Mr ＊＊ said."
    )
