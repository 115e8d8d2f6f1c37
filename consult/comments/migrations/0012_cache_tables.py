"""The database cache's tables, for a production without Redis (settings: CACHES).

Without Redis the repeat check keeps its memory in the database cache (`consult_cache`) and
the rate limits count in `consult_rate_counter` (consult/cache.py). `migrate` creates both so
that no deployment step can be forgotten; `createcachetable` makes the first one too and does
nothing when it is there.
"""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations

CACHE_TABLE = "consult_cache"  # settings.CACHES["default"]["LOCATION"] of the database cache


def cache_table_create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def cache_table_drop(apps, schema_editor):
    # Django's cache "model" is only its options, which delete_model cannot take.
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("comments", "0011_canonical_phones")]

    operations = [
        migrations.RunPython(cache_table_create, cache_table_drop),
        migrations.RunSQL(
            [
                "CREATE TABLE consult_rate_counter (counter_key varchar(255) NOT NULL PRIMARY KEY,"
                " hits integer NOT NULL, expires_at double precision NOT NULL)",
                "CREATE INDEX consult_rate_counter_expires_at ON consult_rate_counter (expires_at)",
            ],
            ["DROP TABLE consult_rate_counter"],
        ),
    ]
