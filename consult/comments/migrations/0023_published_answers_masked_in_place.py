from django.db import migrations
from django.db.models import Exists, F, OuterRef


def answers_masked_in_place(apps, schema_editor):
    """The answer of a comment whose personal data went was kept masked in a copy of its own (a
    release before this one left the answer itself unmasked): the copy is the answer from now
    on, unless the text as it stands was written after (by staff who never saw the name; the
    copy is then the older text). A reply answered again unchanged is the copy's, masked."""
    Comment = apps.get_model("comments", "Comment")
    CommentEvent = apps.get_model("comments", "CommentEvent")
    cleared = Comment.objects.filter(personal_data_removed_at__isnull=False)

    def written_after_the_purge(kind, field):
        # The text as it stands, recorded by an event after the purge.
        return Exists(
            CommentEvent.objects.filter(
                comment_id=OuterRef("pk"),
                kind=kind,
                text=OuterRef(field),
                at__gt=OuterRef("personal_data_removed_at"),
            )
        )

    cleared.exclude(published_reply="").exclude(
        written_after_the_purge("reply", "reply")
    ).update(reply=F("published_reply"))
    cleared.exclude(published_decision_reason="").exclude(
        written_after_the_purge("decision", "decision_reason")
    ).update(decision_reason=F("published_decision_reason"))


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0022_export_held_comments"),
    ]

    operations = [
        migrations.RunPython(answers_masked_in_place, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(
            model_name="comment",
            name="published_decision_reason",
        ),
        migrations.RemoveField(
            model_name="comment",
            name="published_reply",
        ),
    ]
