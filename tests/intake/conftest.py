"""What the intake tests share: the API's client and the clause most of them comment on."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def item(weifang_open):
    """二(一)1: an item with a lead and cooperating departments."""
    return weifang_open.clauses.get(label="二(一)1")
