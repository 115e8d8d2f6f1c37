from django.db import migrations
from django.db.models import F, Q


def answers_masked_in_place(apps, schema_editor):
    """An answer given before its comment's personal data went was kept masked in a copy of its
    own (a release before this one left the answer itself unmasked): the copy is the answer
    from now on. One given after keeps its own text, the one the public is shown now."""
    Comment = apps.get_model("comments", "Comment")
    cleared = Comment.objects.filter(personal_data_removed_at__isnull=False).filter(
        Q(replied_at__isnull=True) | Q(replied_at__lte=F("personal_data_removed_at"))
    )
    cleared.exclude(published_reply="").update(reply=F("published_reply"))
    cleared.exclude(published_decision_reason="").update(
        decision_reason=F("published_decision_reason")
    )


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
