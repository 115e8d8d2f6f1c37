"""Form-letter campaigns grouped as comments arrive, measured on a labelled synthetic set."""

import pytest
from django.utils import timezone

from consult.comments.campaigns import campaigns_assign, campaigns_assign_pending, normalise
from consult.comments.models import Campaign, Comment
from consult.testing.campaign_data import labelled_comments, pair_scores
from tests.support.jobs import due_jobs_run

pytestmark = pytest.mark.django_db


def store(consultation, texts, prefix="T"):
    now = timezone.now()
    return Comment.objects.bulk_create(
        Comment(
            consultation=consultation,
            body=text,
            channel=Comment.Channel.LETTER,
            consent=True,
            consent_at=now,
            tracking_number=f"{prefix}{n:08d}X",
            submitted_at=now,
        )
        for n, text in enumerate(texts)
    )


def test_precision_and_recall_on_labelled_letters_arriving_in_batches(weifang_open):
    data = labelled_comments(2000, campaigns=20, seed=11)
    comments = store(weifang_open, [text for text, _label in data])
    ids = [c.pk for c in comments]
    for start in range(0, len(ids), 150):  # as the periodic job meets them
        campaigns_assign(ids[start : start + 150])
    predicted = dict(Comment.objects.filter(pk__in=ids).values_list("pk", "campaign_id"))
    precision, recall = pair_scores([label for _t, label in data], [predicted[pk] for pk in ids])
    assert precision >= 0.95, precision
    assert recall >= 0.95, recall
    assert 18 <= Campaign.objects.count() <= 25
    biggest = Campaign.objects.first()
    assert biggest.size == Comment.objects.filter(campaign=biggest).count() > 40


def test_a_distinct_comment_stays_alone_and_reruns_change_nothing(weifang_open):
    letter = (
        "我们建议市里加大对海洋渔业转型升级的扶持力度，"
        "设立专项资金支持渔船更新改造和深远海养殖装备建设。"
    )
    texts = [
        letter,
        "本人王某：" + letter.replace("，", "袁") + "恳请采纳。",
        letter[:-6] + "和远洋捕捞。",
        "潍坊港的集装箱航线太少，企业出口要绕道青岛，建议市交通局牵头开通更多直达航线。",
    ]
    comments = store(weifang_open, texts)
    assert campaigns_assign([c.pk for c in comments]) == 3
    groups = dict(Comment.objects.values_list("pk", "campaign_id"))
    assert groups[comments[0].pk] == groups[comments[1].pk] == groups[comments[2].pk]
    assert groups[comments[3].pk] is None
    assert campaigns_assign([c.pk for c in comments]) == 0
    assert Campaign.objects.get().size == 3


def test_two_campaigns_bridged_by_a_letter_become_one(weifang_open):
    a = (
        "建议在寿光市建设海洋牧场示范区，配套建设冷链物流中心，"
        "带动周边渔民增收致富，推动一二三产业融合。"
    )
    b = a[:30] + "同时完善渔港基础设施，提升避风锚地的安全保障水平，保障渔民生命财产安全。"
    first = store(weifang_open, [a, a + "谢谢。"])
    campaigns_assign([c.pk for c in first])
    second = store(weifang_open, [b, "王某：" + b], prefix="U")
    campaigns_assign([c.pk for c in second])
    assert Campaign.objects.count() == 2
    # Letters halfway between the two, close to both.
    bridge = store(weifang_open, [a[:50] + b[30:], a + b[30:]], prefix="V")
    campaigns_assign([c.pk for c in bridge])
    (campaign,) = Campaign.objects.all()
    assert campaign.size == 6
    assert campaign.first_comment == first[0]


def test_new_comments_are_grouped_by_the_periodic_job(weifang_open):
    letter = "强烈建议保留老渔港的传统渔市，这是几代渔民的生计所在，也是潍坊海洋文化的重要载体。"
    store(weifang_open, [letter, letter + "盼复。", "张某：" + letter])
    assert Campaign.objects.count() == 0
    due_jobs_run()
    assert Campaign.objects.get().size == 3
    assert campaigns_assign_pending() == 0


def test_normalising_ignores_punctuation_and_its_misdecodings():
    assert normalise("建议，加强。") == normalise("建议袁加强遥") == "建议加强"


def test_staff_open_a_campaign_and_answer_it_at_once(client, weifang_open):
    from django.contrib.auth.models import User

    letter = "强烈建议保留老渔港的传统渔市，这是几代渔民的生计所在，也是潍坊海洋文化的重要载体。"
    comments = store(weifang_open, [letter, letter + "盼复。", "张某：" + letter])
    from consult.comments.services import comments_route_unrouted

    comments_route_unrouted([c.pk for c in comments])
    campaigns_assign([c.pk for c in comments])
    campaign = Campaign.objects.get()
    client.force_login(User.objects.create_superuser("root", password="pw"))
    page = client.get("/admin/comments/comment/", {"scope": "all"}).content.decode()
    assert f"campaign__id__exact={campaign.pk}" in page and f"#{campaign.pk} · 3" in page
    listed = client.get(
        "/admin/comments/comment/", {"scope": "all", "campaign__id__exact": campaign.pk}
    )
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 3
    response = client.post(
        f"/admin/comments/comment/?scope=all&campaign__id__exact={campaign.pk}",
        {
            "action": "bulk_answer",
            "select_across": "1",
            "index": "0",
            "_selected_action": [comments[0].pk],
            "decision": "partly_adopted",
            "text": "感谢大家的意见，传统渔市将在改造中予以保留。",
        },
    )
    assert response.status_code == 302
    assert set(Comment.objects.values_list("status", flat=True)) == {"answered"}
    assert client.get("/admin/comments/campaign/").status_code == 200


def test_a_campaign_merged_away_is_not_used_again_in_the_same_run(weifang_open):
    from consult.comments.campaigns import _join

    a1, b1, b2, new = store(weifang_open, ["甲" * 20, "乙" * 20, "丙" * 20, "丁" * 20], prefix="M")
    first = Campaign.objects.create(consultation=weifang_open, first_comment=a1)
    second = Campaign.objects.create(consultation=weifang_open, first_comment=b1)
    Comment.objects.filter(pk=a1.pk).update(campaign=first)
    Comment.objects.filter(pk__in=[b1.pk, b2.pk]).update(campaign=second)
    # The first group bridges the two campaigns; the second still names the one merged away.
    joined, campaign_of = _join(weifang_open.pk, [[a1.pk, b1.pk], [b2.pk, new.pk]], {new.pk})
    assert joined == 1 and campaign_of == {new.pk: first.pk}
    assert set(Comment.objects.values_list("campaign_id", flat=True)) == {first.pk}
    assert list(Campaign.objects.values_list("pk", "size")) == [(first.pk, 4)]


def test_opposite_opinions_that_quote_their_clause_are_not_one_campaign(weifang_open):
    """Three citizens pasted the clause before opposite opinions and were grouped as one form
    letter, answered at once and counted as a campaign: only what they wrote themselves counts."""
    from consult.comments.campaigns import campaigns_assign_pending
    from consult.comments.services import comment_submit

    clause = weifang_open.clauses.get(label="二(一)1")
    quote = clause.text[:160]
    bodies = [
        f"关于“{quote}”一条，我认为评价指标应当由第三方机构制定，并每年公开评估结果。",
        f"关于“{quote}”一条，建议删除，该项任务与我市财政能力不符，应暂缓实施。",
        f"原文：{quote}。意见：应增加对中小渔业企业的贷款贴息，降低准入门槛。",
        # The same letter twice, the clause quoted in it: still one campaign.
        f"关于“{quote}”一条，建议删除，该项任务与我市财政能力不符，应暂缓实施！",
    ]
    comments = [
        comment_submit(
            consultation=weifang_open, clause=clause, body=body, channel="web", consent=True
        ).comment
        for body in bodies
    ]
    campaigns_assign_pending(limit=None)
    groups = [Comment.objects.get(pk=c.pk).campaign_id for c in comments]
    assert groups[1] is not None and groups[1] == groups[3]
    assert groups[0] != groups[1] and groups[2] != groups[1]
    assert groups[0] is None or groups[0] != groups[2]


@pytest.mark.parametrize(
    "opposite",
    [
        ("同意本条。", "不同意本条。"),
        ("坚决支持本条规定。", "坚决反对本条规定。"),
        ("建议将期限改为三日。", "建议将期限改为十五日。"),
        ("I support this clause.", "I do not support this clause."),
        ("对于这一规定，我表示支持。", "对于这一规定，我表示反对。"),
    ],
)
def test_short_opposite_opinions_are_not_one_campaign(weifang_open, opposite):
    """A word apart, a line of opinion shares most of its 3-grams with its opposite: supporters
    and opponents were one form letter, answered at once and counted as one (found by a
    review). A comment this short joins only its twins, word for word."""
    comments = store(weifang_open, [*opposite, f"{opposite[0]} "], prefix="O")
    campaigns_assign([c.pk for c in comments])
    campaigns = [Comment.objects.get(pk=c.pk).campaign_id for c in comments]
    assert campaigns[0] is not None and campaigns[0] == campaigns[2]
    assert campaigns[1] is None
    assert Comment.objects.filter(signature__isnull=False).count() == 3


@pytest.mark.parametrize(
    "letter",
    ["强烈反对取消渔民燃油补贴，请保留！", "反对收取停车费，老百姓负担太重了，请撤回这一条！"],
)
def test_a_short_form_letter_sent_by_many_is_one_campaign(weifang_open, letter):
    """Hundreds of copies of a line were left ungrouped once short comments joined none (a
    review of that change): the same words make one campaign, arriving together or later."""
    first = store(weifang_open, [letter] * 50, prefix="A")
    campaigns_assign([c.pk for c in first])
    later = store(weifang_open, [letter + "！"] * 30 + ["支持取消渔民燃油补贴。"], prefix="B")
    campaigns_assign([c.pk for c in later])
    campaigns = Comment.objects.exclude(campaign=None).values_list("campaign_id", flat=True)
    assert len(campaigns) == 80 and len(set(campaigns)) == 1


def test_the_queue_counts_the_letters_of_a_campaign_the_department_can_open(client, weifang_open):
    """ "#1 · 6" led a department to a group page of one letter: the other five were other
    departments' to answer."""
    import re

    from consult.comments.campaigns import campaigns_assign_pending
    from consult.comments.services import comment_submit
    from tests.support.people import member

    text = (
        "建议市里加大对海洋渔业转型升级的扶持力度，"
        "设立专项资金支持渔船更新改造和深远海养殖装备建设。"
    )
    for n, label in enumerate(["二(一)1"] * 5 + ["二(四)2"]):
        comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label),
            body=f"{text}第{n}封。",
            channel="web",
            consent=True,
        )
    campaigns_assign_pending(limit=None)
    (campaign,) = set(Comment.objects.values_list("campaign_id", flat=True))
    client.force_login(member("sthj", "市生态环境局"))  # answers 二(四)2 alone
    page = client.get("/admin/comments/comment/", {"scope": "all"}).content.decode()
    assert re.findall(rf"#{campaign} · ([\d/]+)", page) == ["1/6"]
    group = client.get(
        "/admin/comments/comment/", {"scope": "all", "campaign__id__exact": campaign}
    ).context["cl"]
    assert group.result_count == 1
    client.force_login(member("hyj", "市海渔局"))  # the issuing bureau sees all six
    page = client.get("/admin/comments/comment/", {"scope": "all"}).content.decode()
    assert set(re.findall(rf"#{campaign} · ([\d/]+)", page)) == {"6"}


@pytest.mark.django_db(transaction=True)
def test_staff_answering_a_comment_the_campaign_job_is_signing_both_go_through(monkeypatch):
    """The job (every 30 s) locked the consultation, then waited for the comment a member of
    staff was answering; the answer's email, naming the consultation, then waited for the
    job's lock: PostgreSQL ended one of them with a deadlock, and the answer was a 500."""
    import threading

    from django.contrib.auth import get_user_model
    from django.db import connection

    from consult.comments import workflow
    from consult.comments.services import comment_submit
    from consult.comments.workflow import CommentChange, comment_change_apply
    from consult.testing.services import unavailable, wait_for
    from consult.testing.weifang import load_weifang

    if connection.vendor != "postgresql":
        unavailable("PostgreSQL is needed: SQLite locks the whole database instead")
    weifang = load_weifang(slug="weifang-campaign-race")
    root = get_user_model().objects.create_superuser("root", "root@example.cn", "pw")
    comment = comment_submit(
        consultation=weifang,
        clause=weifang.clauses.get(label="二(三)4"),
        body="建议在数字化转型专项中明确中小企业的申报条件。",
        channel="web",
        consent=True,
        email="citizen@example.cn",
    ).comment
    comment_locked, job_waiting = threading.Event(), threading.Event()
    standing = workflow.standing

    def standing_once_the_job_waits(user, locked_comment):
        # The comment is locked now: the job comes, and the answer goes on once it waits.
        comment_locked.set()
        job_waiting.wait(20)
        return standing(user, locked_comment)

    monkeypatch.setattr(workflow, "standing", standing_once_the_job_waits)
    errors = []

    def run(work):
        try:
            work()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def answer():
        change = CommentChange(
            status="answered", decision="adopted", reply="已采纳。", waive_reason="答复期限将至。"
        )
        comment_change_apply(comment, root, change)

    def sign():
        comment_locked.wait(20)
        campaigns_assign([comment.pk])

    def job_waits_for_the_comment():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return cursor.fetchone()[0] >= 1

    threads = [threading.Thread(target=run, args=(work,)) for work in (answer, sign)]
    for thread in threads:
        thread.start()
    try:
        comment_locked.wait(20)
        wait_for(job_waits_for_the_comment, timeout=20, message="the job waiting for the comment")
    finally:
        job_waiting.set()
        for thread in threads:
            thread.join(60)
    assert errors == []
    comment.refresh_from_db()
    assert comment.status == "answered" and Comment.objects.filter(signature__isnull=False).count()


def test_the_campaign_list_shows_each_user_the_first_letter_they_see_as_the_queue_shows_it(
    weifang_open, client
):
    """A campaign spans clauses: the list showed its first letter whole to every department with
    a letter in it, another department's submitter's name and phone included, and whole to a
    department that only cooperates on it, for which the queue masks them (found by a review)."""
    from django.contrib.auth.models import Permission, User

    from consult.comments.services import comment_submit
    from consult.consultations.models import Department
    from consult.consultations.services import staff_join

    template = (
        "我是市民{name}，电话{phone}。建议市里加大对海洋渔业转型升级的扶持力度，"
        "设立专项资金支持渔船更新改造，对购置节能环保型渔船的渔民给予补贴，"
        "并在渔港建设中统筹考虑渔民的生产生活需要，完善渔港的避风、补给和冷链设施。"
    )
    letters = [
        comment_submit(
            consultation=weifang_open,
            clause=weifang_open.clauses.get(label=label),
            body=template.format(name=name, phone=phone),
            channel="web",
            consent=True,
            phone=phone,
            submitter_name=name,
        ).comment
        for label, name, phone in (
            ("二(一)1", "张三丰", "13900000001"),  # 市发改委 answers, 市科技局 cooperates
            ("二(四)2", "李四", "13812345678"),  # 市生态环境局 alone
        )
    ]
    campaigns_assign([letter.pk for letter in letters])
    campaigns = {Comment.objects.get(pk=letter.pk).campaign_id for letter in letters}
    assert len(campaigns) == 1 and None not in campaigns

    def campaign_list_of(department):
        user = User.objects.create_user(f"staff-{department}", password="pw")
        staff_join(user, Department.objects.get(name=department))
        user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
        client.force_login(user)
        return client.get("/admin/comments/campaign/").content.decode()

    ecology = campaign_list_of("市生态环境局")
    assert "张三丰" not in ecology and "13900000001" not in ecology
    assert "我是市民李四，电话13812345678" in ecology  # its own letter, whole
    science = campaign_list_of("市科技局")
    assert "张三丰" not in science and "13900000001" not in science
    assert "我是市民＊＊，电话139****0001" in science
    # Its page links no letter the user may not open, and shows the same excerpt.
    page = client.get(f"/admin/comments/campaign/{campaigns.pop()}/change/").content.decode()
    assert "我是市民＊＊，电话139****0001" in page and "张三丰" not in page
    assert f"/admin/comments/comment/{letters[0].pk}/change/" not in page
