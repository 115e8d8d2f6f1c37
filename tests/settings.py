"""Settings for the test suite: the project's settings with test-only keys and fast hashing."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
# Nothing the suite does may land in the checkout's var/ (the SQLite file, mail, uploads,
# exports): everything under VAR_DIR goes to a folder of this test process, removed at exit.
_VAR_DIR = tempfile.mkdtemp(prefix="consult-tests-var-")
atexit.register(shutil.rmtree, _VAR_DIR, ignore_errors=True)
os.environ["CONSULT_VAR_DIR"] = _VAR_DIR
os.environ.pop("PRIVATE_MEDIA_ROOT", None)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from consult.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CAPTCHA_TEST_MODE = True
SITE_URL = "http://testserver"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared-cache memory database, so that tests with threads or
    # processes see SQLite as the embedded mode runs it (WAL, IMMEDIATE transactions)
    # instead of "database table is locked".
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_VAR_DIR, "tests.sqlite3")}  # noqa: F405
elif os.environ.get("CONSULT_TEST_DATABASE"):
    # Two runs on one PostgreSQL server (a developer's and a helper's) need two test databases.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["CONSULT_TEST_DATABASE"]}  # noqa: F405
