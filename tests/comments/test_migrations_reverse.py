"""The comments app's migrations can be rolled back, as an operator undoing a release does."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_rolling_back_past_the_cache_tables_and_forward_again():
    """0012's reverse handed Django's cache options to delete_model and crashed half way
    through a rollback (the later migrations already undone)."""
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("comments", "0011_canonical_phones")])
        assert "consult_cache" not in connection.introspection.table_names()
        assert "consult_rate_counter" not in connection.introspection.table_names()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert "consult_cache" in connection.introspection.table_names()
