"""The suite keeps out of the checkout's var/, where `make run` keeps the demo's data.

(tests/conftest.py also compares var/ before and after the whole run and fails the run when
anything there changed.)"""

from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages

from consult.comments.models import Attachment, Export

CHECKOUT_VAR = Path(__file__).resolve().parents[1] / "var"


def outside_checkout_var(path) -> bool:
    return not Path(path).resolve().is_relative_to(CHECKOUT_VAR.resolve())


def test_every_place_the_suite_writes_to_is_outside_var(tmp_path):
    assert outside_checkout_var(settings.VAR_DIR)
    assert outside_checkout_var(settings.EMAIL_FILE_PATH)
    assert outside_checkout_var(settings.PRIVATE_MEDIA_ROOT)
    assert outside_checkout_var(settings.MEDIA_ROOT)
    test_database = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert outside_checkout_var(test_database)


def test_uploads_and_exports_follow_the_tests_private_storage(tmp_path):
    """FileField storage is resolved when used, so the per-test folder really is used."""
    expected = Path(storages["private"].location)
    assert expected.is_relative_to(tmp_path)
    for model in (Attachment, Export):
        assert Path(model._meta.get_field("file").storage.location) == expected
