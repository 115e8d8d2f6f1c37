"""The Weifang consultation as imported from its notice, for tests and benchmarks."""

import datetime
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_weifang(*, slug="weifang-open", open_now=True, departments=True):
    """The Weifang notice as imported, with the demo departments and mailboxes; by default
    shifted to be open from yesterday to 30 days from now (as seed_demo does)."""
    # Imported here: the test suite's conftest imports this module before Django is set up.
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
