from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("comments", "0015_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="comment",
            name="language",
            field=models.CharField(
                default="zh-hans", editable=False, max_length=16, verbose_name="语言"
            ),
        ),
    ]
