"""Apart from adding the column (0016), so that on PostgreSQL the ALTER TABLE's lock does not
last while every receipt is read."""

from django.db import migrations


def language_from_receipts(apps, schema_editor):
    """A comment stored before this learns its language from its receipt, which was written in
    the language of the request (comments without an email address had no receipt and keep
    the site's)."""
    Comment = apps.get_model("comments", "Comment")
    Notification = apps.get_model("notifications", "Notification")
    # Only the web form's and the API's: a letter's receipt was in the admin language of the
    # staff member who typed it in, and a letter is answered in the site's (its default).
    receipts = Notification.objects.filter(
        kind="receipt", comment__isnull=False, comment__channel__in=("web", "api")
    )
    for language in (
        receipts.exclude(language="zh-hans").order_by().values_list("language", flat=True).distinct()
    ):
        Comment.objects.filter(
            pk__in=receipts.filter(language=language).values("comment_id")
        ).update(language=language)


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0016_comment_language"),
        ("notifications", "0008_revision_published_kind"),
    ]

    operations = [migrations.RunPython(language_from_receipts, migrations.RunPython.noop)]
