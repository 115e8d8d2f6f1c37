"""A change made on a page read before a colleague's change is refused with a form error, never
saved over it: the page comes back with what was typed, what changed since and the current version,
so a second save is a decision taken with the change in view; two saves at once are checked one
after the other; a refusal is a page, not a 500."""

import re
import threading

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import OperationalError, connection, connections, transaction
from django.test import Client

from consult.comments.admin import forms as queue_forms
from consult.comments.admin.forms import CommentWorkForm
from consult.comments.models import Comment, CommentEvent
from consult.comments.workflow import CommentChange, comment_change_apply, comment_version
from consult.consultations.models import Department
from consult.testing.services import unavailable, wait_for
from tests.comments.test_admin_queue import QUEUE, change_form_data, member, submit

pytestmark = pytest.mark.django_db

STALE = "这条意见在您打开后已被他人修改，请刷新后再办理。"
# The change page's own refusal: the page shown again, to be saved again.
KEPT = "这条意见在您打开后已被他人修改，修改内容列在下方。您填写的内容已保留：请核对后再次保存。"
LONG_REPLY = (
    "经研究，您的意见部分采纳。\r\n" + "具体说明如下：集聚区评价指标将在实施细则中明确。" * 40
)


@pytest.fixture
def comment(weifang_open):
    """On 二(四)2: 市生态环境局 alone answers."""
    return submit(weifang_open, "二(四)2", 1)


def events_by(user):
    return list(CommentEvent.objects.filter(actor=user).values_list("kind", flat=True))


def posted_again(response):
    """What the browser posts when the page shown again is saved as it stands: its fields
    (the hidden version among them) and the inlines' management forms."""
    form = response.context["adminform"].form
    data = {
        name: form[name].value() or ""
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
        if not field.is_readonly and (name := field.field.name)
    }
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    return {key: value for key, value in data.items() if value is not False}


def tables(response) -> list[str]:
    """The history tables on the page: the changes listed above the form, then the history."""
    return re.findall(
        r'<table class="comment-history">.*?</table>', response.content.decode(), re.S
    )


def rows(table: str) -> list[str]:
    return re.findall(r"<tr><td>.*?</tr>", table, re.S)


def test_a_page_opened_before_a_colleagues_answer_does_not_reopen_it(
    client, comment, django_capture_on_commit_callbacks
):
    colleague = member("sthj_b", "市生态环境局")
    comment_change_apply(
        comment,
        colleague,
        CommentChange(status="in_progress", decision="partly_adopted", reply="草稿答复"),
    )
    late = member("sthj_a", "市生态环境局")
    client.force_login(late)
    stale = change_form_data(client, comment, note="已电话联系提交人。")
    with django_capture_on_commit_callbacks(execute=True):
        comment_change_apply(
            comment,
            colleague,
            CommentChange(status="answered", decision="adopted", reply="最终答复：采纳。"),
        )

    response = client.post(f"{QUEUE}{comment.pk}/change/", stale)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() == [KEPT]
    assert form["note"].value() == "已电话联系提交人。"  # what was typed, shown again
    comment.refresh_from_db()
    assert (comment.status, comment.decision, comment.reply) == (
        "answered",
        "adopted",
        "最终答复：采纳。",
    )
    assert events_by(late) == []


def test_a_page_opened_before_a_bulk_start_does_not_put_the_comment_back(client, comment):
    late = member("sthj_a", "市生态环境局")
    client.force_login(late)
    stale = change_form_data(client, comment, note="备注")
    colleague = Client()
    colleague.force_login(member("sthj_b", "市生态环境局"))
    colleague.post(QUEUE, {"action": "bulk_start", "_selected_action": [comment.pk], "index": 0})
    assert Comment.objects.get(pk=comment.pk).status == "in_progress"

    response = client.post(f"{QUEUE}{comment.pk}/change/", stale)

    assert response.status_code == 200
    assert KEPT in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).status == "in_progress"
    assert events_by(late) == []


def test_a_page_opened_again_after_the_refusal_saves(client, comment):
    client.force_login(member("sthj_a", "市生态环境局"))
    stale = change_form_data(client, comment, note="备注")
    comment_change_apply(comment, member("sthj_b", "市生态环境局"), CommentChange(note="先写的。"))
    assert client.post(f"{QUEUE}{comment.pk}/change/", stale).status_code == 200

    fresh = change_form_data(client, comment, note="备注")
    response = client.post(f"{QUEUE}{comment.pk}/change/", fresh)

    assert response.status_code == 302
    assert Comment.objects.get(pk=comment.pk).status == "pending"  # only the note was asked
    assert comment.events.order_by("-pk").first().text == "备注"


def test_a_refused_page_keeps_what_was_typed_and_lists_what_changed(client, comment):
    client.force_login(member("sthj_a", "市生态环境局"))
    typed = {
        "status": "answered",
        "decision": "partly_adopted",
        "reply": LONG_REPLY,
        "note": "已电话联系提交人。",
    }
    stale = change_form_data(client, comment, **typed)
    comment_change_apply(
        comment,
        member("sthj_b", "市生态环境局"),
        CommentChange(status="in_progress", note="<b>先别答复</b>，等财政局的意见。"),
    )

    response = client.post(f"{QUEUE}{comment.pk}/change/", stale)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.non_field_errors() == [KEPT]
    assert {name: form[name].value() for name in typed} == typed
    assert form["version"].value() == str(comment_version(comment))  # now, not as opened
    listed, history = tables(response)
    assert [re.sub(r"<td>[\d-]+ [\d:]+</td>", "", row) for row in rows(listed)] == [
        "<tr><td>sthj_b</td><td>状态</td><td></td><td>待处理 → 处理中</td><td></td></tr>",
        "<tr><td>sthj_b</td><td>内部备注</td><td></td><td></td>"
        "<td>&lt;b&gt;先别答复&lt;/b&gt;，等财政局的意见。</td></tr>",
    ]
    # Nothing the page's own history does not show.
    assert set(rows(listed)) <= set(rows(history))
    assert "<b>先别答复" not in response.content.decode()
    assert Comment.objects.get(pk=comment.pk).status == "in_progress"


def test_the_page_shown_again_saves_what_was_typed(client, comment):
    owner = member("sthj_a", "市生态环境局")
    client.force_login(owner)
    stale = change_form_data(
        client,
        comment,
        status="answered",
        decision="partly_adopted",
        reply=LONG_REPLY,
        note="已电话联系提交人。",
    )
    comment_change_apply(
        comment, member("sthj_b", "市生态环境局"), CommentChange(status="in_progress")
    )
    refused = client.post(f"{QUEUE}{comment.pk}/change/", stale)
    assert refused.status_code == 200

    response = client.post(f"{QUEUE}{comment.pk}/change/", posted_again(refused))

    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.decision, comment.reply) == (
        "answered",
        "partly_adopted",
        LONG_REPLY.strip(),
    )
    assert events_by(owner) == ["decision", "reply", "status", "note"]


def test_fields_left_as_they_were_show_the_colleagues_values_and_do_not_put_them_back(
    client, comment
):
    client.force_login(member("sthj_a", "市生态环境局"))
    stale = change_form_data(client, comment, reply=LONG_REPLY)  # status, decision untouched
    comment_change_apply(
        comment,
        member("sthj_b", "市生态环境局"),
        CommentChange(status="in_progress", decision="adopted", decision_reason="与规划一致。"),
    )

    refused = client.post(f"{QUEUE}{comment.pk}/change/", stale)

    form = refused.context["adminform"].form
    assert (form["status"].value(), form["decision"].value()) == ("in_progress", "adopted")
    assert form["decision_reason"].value() == "与规划一致。"
    assert form["reply"].value() == LONG_REPLY
    assert client.post(f"{QUEUE}{comment.pk}/change/", posted_again(refused)).status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.decision, comment.decision_reason, comment.reply) == (
        "in_progress",
        "adopted",
        "与规划一致。",
        LONG_REPLY.strip(),
    )


def test_a_page_shown_again_is_refused_again_after_another_change(client, comment):
    late = member("sthj_a", "市生态环境局")
    client.force_login(late)
    stale = change_form_data(client, comment, reply=LONG_REPLY, note="我的备注")
    comment_change_apply(comment, member("sthj_b", "市生态环境局"), CommentChange(note="第一次。"))
    refused = client.post(f"{QUEUE}{comment.pk}/change/", stale)
    comment_change_apply(
        comment,
        member("sthj_c", "市生态环境局"),
        CommentChange(status="in_progress", note="第二次。"),
    )

    again = client.post(f"{QUEUE}{comment.pk}/change/", posted_again(refused))

    assert again.status_code == 200
    form = again.context["adminform"].form
    assert form.non_field_errors() == [KEPT]
    assert (form["reply"].value(), form["note"].value()) == (LONG_REPLY, "我的备注")
    assert form["status"].value() == "in_progress"
    listed, _history = tables(again)
    assert "第二次。" in listed and "第一次。" not in listed  # only what this page did not show
    assert events_by(late) == []
    assert client.post(f"{QUEUE}{comment.pk}/change/", posted_again(again)).status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.reply) == ("in_progress", LONG_REPLY.strip())


def test_a_status_the_colleagues_change_closed_is_not_offered_as_chosen(client, comment):
    client.force_login(member("sthj_a", "市生态环境局"))
    stale = change_form_data(client, comment, status="invalid", invalid_reason="广告。")
    comment_change_apply(
        comment,
        member("sthj_b", "市生态环境局"),
        CommentChange(status="answered", decision="adopted", reply="采纳。"),
    )

    refused = client.post(f"{QUEUE}{comment.pk}/change/", stale)

    form = refused.context["adminform"].form
    # Not silently the select's first option: the comment's status, and why.
    assert form["status"].value() == "answered"
    assert form.errors["status"] == ["您选择的“无效”在他人修改后已不能选择，状态仍为“已答复”。"]
    assert form["invalid_reason"].value() == "广告。"


def test_a_reply_typed_before_the_comment_was_transferred_is_shown_to_copy(client, comment):
    client.force_login(member("sthj_a", "市生态环境局"))
    stale = change_form_data(client, comment, reply=LONG_REPLY)
    comment_change_apply(
        comment,
        member("hyj", "市海渔局"),
        CommentChange(
            route_to=Department.objects.get(name="市工信局"),
            make_owner=True,
            route_reason="属工信局职责。",
        ),
    )

    refused = client.post(f"{QUEUE}{comment.pk}/change/", stale)

    assert "reply" not in refused.context["adminform"].form.shown  # no longer theirs to answer
    assert [(str(label), text) for label, text in refused.context["kept_aside"]] == [
        ("答复", LONG_REPLY)
    ]
    assert "具体说明如下" in refused.content.decode()
    # The routing as it is now, the new lead among it: what the user reviews before saving.
    (routes,) = [
        f for f in refused.context["inline_admin_formsets"] if f.formset.prefix == "routes"
    ]
    assert sorted((form.original.department.name, form.original.is_owner) for form in routes) == [
        ("市工信局", True),
        ("市生态环境局", False),
    ]


def test_the_workflow_refuses_a_change_made_on_an_older_version(comment):
    owner = member("sthj_a", "市生态环境局")
    shown = comment_version(comment)
    comment_change_apply(comment, owner, CommentChange(status="in_progress"))

    with pytest.raises(ValidationError) as refused:
        comment_change_apply(comment, owner, CommentChange(status="pending", version=shown))

    assert refused.value.message_dict == {NON_FIELD_ERRORS: [STALE]}
    assert Comment.objects.get(pk=comment.pk).status == "in_progress"
    now = comment_version(comment)
    assert now > shown
    comment_change_apply(comment, owner, CommentChange(status="pending", version=now))
    # A bulk action passes no version: it changes the comment as it is.
    comment_change_apply(comment, owner, CommentChange(status="in_progress"))
    assert Comment.objects.get(pk=comment.pk).status == "in_progress"


@pytest.mark.parametrize("version", [None, "²", "9" * 30])
def test_a_post_without_a_usable_version_is_refused_in_words(client, comment, version):
    """ "²" passed str.isdigit and failed int(): a 500."""
    client.force_login(member("sthj_a", "市生态环境局"))
    data = change_form_data(client, comment, status="in_progress")
    if version is None:
        del data["version"]
    else:
        data["version"] = version

    response = client.post(f"{QUEUE}{comment.pk}/change/", data)

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [STALE]
    assert Comment.objects.get(pk=comment.pk).status == "pending"


def test_a_refusal_after_the_forms_checks_is_shown_on_the_page_not_as_a_500(
    client, comment, monkeypatch
):
    """The backstop: were the form's checks and the workflow's ever to disagree."""
    client.force_login(member("sthj_a", "市生态环境局"))
    data = change_form_data(client, comment, status="answered", decision="adopted")
    monkeypatch.setattr(queue_forms, "change_problems", lambda *args, **kwargs: {})

    response = client.post(f"{QUEUE}{comment.pk}/change/", data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["reply"] == ["请填写给提交人的答复。"]
    assert form["decision"].value() == "adopted"
    assert Comment.objects.get(pk=comment.pk).status == "pending"
    assert not CommentEvent.objects.filter(comment=comment).exists()


@pytest.mark.django_db(transaction=True)
def test_two_staff_answering_at_once_the_second_gets_its_page_back(comment):
    """The form takes the comment's row lock: the second save waits, then is checked against
    the first's answer (a 500 before, its text lost)."""
    if connection.vendor != "postgresql":
        unavailable("PostgreSQL is needed: SQLite locks the whole database instead")
    clients, posts = [], []
    for name, reply in (("sthj_a", "答复甲：采纳。"), ("sthj_b", "答复乙：采纳。")):
        staff_client = Client(raise_request_exception=False)
        staff_client.force_login(member(name, "市生态环境局"))
        posts.append(
            change_form_data(
                staff_client, comment, status="answered", decision="adopted", reply=reply
            )
        )
        clients.append(staff_client)
    responses = {}

    def save(i):
        try:
            responses[i] = clients[i].post(f"{QUEUE}{comment.pk}/change/", posts[i])
        finally:
            connection.close()

    def waiting_for_the_lock():
        # Not on the holder's connection: a transaction reads the statistics once.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            return cursor.fetchone()[0] >= 2

    # Both saves arrive while the row is held, so both pass the page's checks at once.
    holder = connections.create_connection("default")
    threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
    try:
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute("SELECT 1 FROM comments_comment WHERE id = %s FOR UPDATE", [comment.pk])
        for thread in threads:
            thread.start()
        wait_for(waiting_for_the_lock, timeout=20, message="both saves waiting for the row")
        holder.rollback()
    finally:
        holder.close()
        for thread in threads:
            thread.join(30)

    assert sorted(response.status_code for response in responses.values()) == [200, 302]
    (refused,) = [response for response in responses.values() if response.status_code == 200]
    assert KEPT in refused.content.decode()
    typed = refused.context["adminform"].form["reply"].value()
    comment.refresh_from_db()
    assert comment.status == "answered" and comment.reply != typed
    assert CommentEvent.objects.filter(comment=comment, kind="reply").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_change_forms_checks_hold_the_comment_not_its_consultation(client, comment):
    """What the form checked is what save_model changes: the row stays locked in between."""
    if connection.vendor != "postgresql":
        unavailable("PostgreSQL is needed: SQLite locks the whole database instead")
    owner = member("sthj_a", "市生态环境局")
    client.force_login(owner)
    data = change_form_data(client, comment, status="in_progress")
    form_class = type("Form", (CommentWorkForm,), {"user": owner})
    other = connections.create_connection("default")
    try:
        with transaction.atomic():
            assert form_class(data, instance=comment).is_valid()
            with other.cursor() as cursor:
                with pytest.raises(OperationalError):
                    cursor.execute(
                        "SELECT 1 FROM comments_comment WHERE id = %s FOR UPDATE NOWAIT",
                        [comment.pk],
                    )
                # A citizen's new comment on the consultation takes this lock: not held up.
                cursor.execute(
                    "SELECT 1 FROM consultations_consultation WHERE id = %s FOR KEY SHARE NOWAIT",
                    [comment.consultation_id],
                )
    finally:
        other.close()


def test_a_reply_typed_before_a_colleague_passed_the_comment_on_is_given_back(client, comment):
    """The department passed it on while a colleague's page was open: saved, the page said
    the comment "may have been deleted", and the reply typed was lost (found by a review)."""
    me, colleague = member("sthj_a", "市生态环境局"), member("sthj_b", "市生态环境局")
    client.force_login(me)
    stale = change_form_data(client, comment, reply=LONG_REPLY, note="")
    comment_change_apply(
        comment,
        colleague,
        CommentChange(
            route_to=Department.objects.get(name="市工信局"),
            make_owner=True,
            route_reason="属工信局职责。",
        ),
    )

    response = client.post(f"{QUEUE}{comment.pk}/change/", stale, follow=True)

    assert response.redirect_chain == [(QUEUE, 302)]
    said = [str(message) for message in response.context["messages"]]
    assert said == [
        "您无法打开这条意见：它不由您的单位办理（可能刚被转办，或移至其他单位负责的条款）。",
        f"您填写的“答复”未保存：{LONG_REPLY.strip()}",
    ]
    assert comment.tracking_number not in response.content.decode()  # still not theirs to see


def test_a_bulk_action_says_so_of_a_ticked_comment_passed_on_meanwhile(client, weifang_open):
    """Ticked, then passed on by a colleague: the action dropped it without a word and said
    "2 条意见改为处理中" of three (found by a review)."""
    comments = [submit(weifang_open, "二(四)2", n) for n in range(3)]  # 市生态环境局 answers
    me, colleague = member("sthj_a", "市生态环境局"), member("sthj_b", "市生态环境局")
    client.force_login(me)
    comment_change_apply(
        comments[0],
        colleague,
        CommentChange(
            route_to=Department.objects.get(name="市工信局"),
            make_owner=True,
            route_reason="属工信局职责。",
        ),
    )

    response = client.post(
        QUEUE,
        {"action": "bulk_start", "_selected_action": [c.pk for c in comments]},
        follow=True,
    )

    said = [str(message) for message in response.context["messages"]]
    assert said == [
        "2 条意见改为处理中。",
        "1 条所选意见已不在此列表中（可能刚被他人转办或修改），未作处理。",
    ]
