from django.db import migrations, models


def language_from_receipts(apps, schema_editor):
    """A comment stored before this learns its language from its receipt, which was written in
    the language of the request (comments without an email address had no receipt and keep
    the site's)."""
    Comment = apps.get_model("comments", "Comment")
    Notification = apps.get_model("notifications", "Notification")
    receipts = Notification.objects.filter(kind="receipt", comment__isnull=False)
    for language in (
        receipts.exclude(language="zh-hans").values_list("language", flat=True).distinct()
    ):
        Comment.objects.filter(
            pk__in=receipts.filter(language=language).values("comment_id")
        ).update(language=language)


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0015_fewer_indexes"),
        ("notifications", "0008_revision_published_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="comment",
            name="language",
            field=models.CharField(
                default="zh-hans", editable=False, max_length=16, verbose_name="语言"
            ),
        ),
        migrations.RunPython(language_from_receipts, migrations.RunPython.noop),
    ]
