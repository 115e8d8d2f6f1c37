"""Addresses stored as typed in full width ("x@ｅｘａｍｐｌｅ.org", which the form took before it
made them plain) made plain, as new subscriptions are: otherwise the same mailbox subscribed
again is a second subscription, mailed twice, and unsubscribing through one link leaves the
other. Where the plain address already has the same subscription, the two become one, kept
confirmed if either was."""

import unicodedata

from django.db import migrations


def addresses_made_plain(apps, schema_editor):
    Subscription = apps.get_model("subscriptions", "Subscription")
    for row in Subscription.objects.order_by("pk").iterator():
        plain = unicodedata.normalize("NFKC", row.email).strip().lower()
        if plain == row.email:
            continue
        twin = (
            Subscription.objects.filter(email=plain, department_id=row.department_id)
            .exclude(pk=row.pk)
            .first()
        )
        if twin is None:
            Subscription.objects.filter(pk=row.pk).update(email=plain)
            continue
        if twin.confirmed_at is None and row.confirmed_at is not None:
            Subscription.objects.filter(pk=twin.pk).update(confirmed_at=row.confirmed_at)
        Subscription.objects.filter(pk=row.pk).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(addresses_made_plain, migrations.RunPython.noop),
    ]
