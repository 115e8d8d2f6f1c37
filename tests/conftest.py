import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _isolated_state(settings, tmp_path):
    """Every test starts with empty rate-limit counters and its own private file storage."""
    from consult.notifications.outbox import broker_breaker

    cache.clear()
    broker_breaker.closed_until = 0.0
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    yield
    cache.clear()


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def load_weifang(*, slug="weifang-open", open_now=True, departments=True):
    """The Weifang notice as imported, with the demo departments and mailboxes; by default
    shifted to be open from yesterday to 30 days from now (as seed_demo does)."""
    import datetime
    import json

    from django.utils import timezone

    from consult.consultations.services import departments_load
    from consult.notices.importer import notice_import
    from consult.notices.parser import parse_notice

    if departments:
        rows = json.loads((ROOT / "fixtures" / "weifang-departments.json").read_text("utf-8"))
        departments_load(rows["departments"])
    source = (ROOT / "fixtures" / "notices" / "weifang-marine-2024.txt").read_text("utf-8")
    consultation = notice_import(parsed=parse_notice(source), slug=slug, source_text=source)
    if open_now:
        now = timezone.now().replace(microsecond=0)
        consultation.opens_at = now - datetime.timedelta(days=1)
        consultation.closes_at = now + datetime.timedelta(days=30)
        consultation.save(update_fields=["opens_at", "closes_at"])
    return consultation


@pytest.fixture
def weifang_open(db):
    return load_weifang()
