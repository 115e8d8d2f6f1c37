"""Migration 0023: the masked copies of an answer kept at the purge become the answer itself,
unless the answer as it stands was written after the purge."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from consult.comments.models import Comment, CommentEvent
from consult.comments.publication import comment_as_published
from tests.comments.test_publication import NAME, _published_and_answered, _report_published

BEFORE = [("comments", "0022_export_held_comments")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("written_after", [False, True])
def test_an_answer_purged_by_an_earlier_release_stays_masked(weifang_open, written_after):
    """Purged by a release that left the answer unmasked and kept a masked copy: answered again
    with the reply unchanged, it must read as the copy did (a review found the name published).
    A reply written after the purge, by staff who never saw the name, is kept as written."""
    comment = _published_and_answered(weifang_open, f"感谢{NAME}的建议。")
    _report_published(weifang_open.current_revision)
    purged = timezone.now()  # after the answer and its history
    rewritten = "感谢您的建议，已采纳。"
    try:
        _migrate(BEFORE)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE comments_comment SET submitter_name='', phone='', email='',"
                " personal_data_removed_at=%s, published_reply=%s, replied_at=%s, reply=%s"
                " WHERE id=%s",
                [
                    purged,
                    "感谢＊＊的建议。",
                    purged + datetime.timedelta(days=1),
                    rewritten if written_after else f"感谢{NAME}的建议。",
                    comment.pk,
                ],
            )
        if written_after:
            CommentEvent.objects.create(
                comment=comment,
                kind=CommentEvent.Kind.REPLY,
                text=rewritten,
                at=purged + datetime.timedelta(days=1),
            )
    finally:
        # Forwards: every other test expects the database fully migrated.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    answer = comment_as_published(Comment.objects.get(pk=comment.pk)).answer
    assert answer.reply == (rewritten if written_after else "感谢＊＊的建议。")
