"""What the staff browser tests share: department staff, logging in, and a queue with every
kind of row."""

from django.contrib.auth.models import User

from consult.comments.models import Comment
from consult.comments.services import comment_submit
from consult.consultations.models import Department
from consult.consultations.services import staff_join
from tests.conftest import load_weifang

PASSWORD = "a-long-test-password"


def log_in(page, live_server, username):
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_load_state()


def staff(username, department):
    user = User.objects.create_user(username, password=PASSWORD)
    staff_join(user, Department.objects.get(name=department))
    return user


def queue_with_every_column():
    """Comments on long-headed clauses, a campaign, and comments in every status (pending, in
    progress, answered, invalid), for the layout."""
    from consult.comments.campaigns import campaigns_assign

    consultation = load_weifang()
    labels = ["二(三)4", "二(二)3", "二(一)1", "二(四)2", "三(二)", None]
    comments = [
        comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label=label) if label else None,
            body=f"第{n}条：建议明确海洋特色产业集聚区的认定标准、评价指标和退出机制，"
            "并在政府网站公开评选流程和结果，接受社会监督。",
            channel="web",
            consent=True,
            phone=f"1381234{n:04d}",
        ).comment
        for n, label in enumerate(labels * 3)
    ]
    letters = [
        comment_submit(
            consultation=consultation,
            clause=consultation.clauses.get(label="二(三)4"),
            body="强烈建议保留老渔港的传统渔市，这是几代渔民的生计所在。" + "盼复" * n,
            channel="web",
            consent=True,
        ).comment
        for n in range(3)
    ]
    campaigns_assign([c.pk for c in letters])
    Comment.objects.filter(pk=comments[0].pk).update(
        status="answered", decision="partly_adopted", reply="部分采纳。"
    )
    Comment.objects.filter(pk=comments[1].pk).update(status="in_progress")
    Comment.objects.filter(pk=comments[2].pk).update(
        status="invalid", invalid_reason="与本次征求意见无关。"
    )
    return consultation
