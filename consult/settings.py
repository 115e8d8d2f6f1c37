"""Settings for consult, read from the environment with embedded defaults.

Unset, everything runs on one machine: SQLite under var/, Celery tasks in-process,
mail written to var/mail/ as .eml files. Set DATABASE_URL, CELERY_BROKER_URL and
EMAIL_HOST to run on PostgreSQL, Redis workers and a real SMTP relay.
"""

import contextlib
import datetime
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from consult.rates import rate_parse

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CONSULT_VAR_DIR", default=str(BASE_DIR / "var")))


class _Env(environ.Env):
    """django-environ, with a value that cannot be read ("abc" for a number, "maybe" for a
    yes-or-no) stopping the start with the variable's name, not a bare traceback or a silent
    false."""

    BOOLEAN_WORDS = {*environ.Env.BOOLEAN_TRUE_STRINGS, "false", "0", "no", "off", "n", "f", ""}

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        if (
            cast is bool
            and str(self.ENVIRON.get(var, "")).strip().lower() not in self.BOOLEAN_WORDS
        ):
            raise ImproperlyConfigured(f"{var} must be true or false, not {self.ENVIRON[var]!r}.")
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError as error:
            raise ImproperlyConfigured(f"{var}: {error}.") from None

    def int(self, var, default=environ.Env.NOTSET, *, least=None):
        return self.bounded(var, super().int(var, default=default), least=least)

    def float(self, var, default=environ.Env.NOTSET, *, least=None, above=None, most=None):
        value = super().float(var, default=default)
        return self.bounded(var, value, least=least, above=above, most=most)

    def list(self, var, cast=None, default=environ.Env.NOTSET, *, least=None):
        values = super().list(var, cast=cast, default=default)
        for value in values:
            self.bounded(var, value, least=least)
        return values

    @staticmethod
    def bounded(var, value, *, least=None, above=None, most=None):
        """A number below `least` (or not above `above`) stops the start naming its variable:
        read on, it would quietly switch a feature off (a negative proxy count trusts what the
        client wrote into X-Forwarded-For; a zero timeout makes redis-py stop waiting at all)."""
        if least is not None and not value >= least:
            raise ImproperlyConfigured(f"{var} must be {least} or more, not {value}.")
        if above is not None and not value > above:
            raise ImproperlyConfigured(f"{var} must be more than {above}, not {value}.")
        if most is not None and not value <= most:
            raise ImproperlyConfigured(f"{var} must be {most} or less, not {value}.")
        return value


env = _Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=true for development."
        )
    SECRET_KEY = "development-only-key-never-use-in-production-0123456789abcdef"  # noqa: S105
# Links already mailed (status pages, stopping emails) are signed with the key: after a new
# key, the old one here keeps them working until they expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "consult.web.errors.csrf_failure"
# Absolute links in emails (status pages, the admin) start with this.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # Django's admin, on consult's site class (consult.web.admin_site).
    "consult.web.admin_site.ConsultAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "consult.consultations",
    "consult.notices",
    "consult.comments",
    "consult.notifications",
    "consult.reports",
    "consult.jobs",
    "consult.subscriptions",
    "captcha",
    # Form widgets render through TEMPLATES (FORM_RENDERER below), so templates/ can override
    # one (the captcha's image, described in the page's language); Django's own from here.
    "django.forms",
    "axes",
    # Last: its admin module puts the apps' admins above under consult's lookup rule.
    "consult.intake",
]

MIDDLEWARE = [
    # Outside every middleware that may refuse a request (the 400 for a Host not in
    # ALLOWED_HOSTS, raised by SecurityMiddleware's redirect or CommonMiddleware; the 503
    # below): those pages, too, may not be framed and run no injected script.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before SecurityMiddleware: a 503 and one log line, not a redirect loop, behind a TLS proxy
    # that BEHIND_TLS_PROXY does not name (consult.web.proxy).
    "consult.web.proxy.UnconfiguredTLSProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Django's, with a POST missing its slash redirected by 308, which keeps its body.
    "consult.web.slashes.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last, as its documentation asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# Staff logins: after 5 failures for one username from one address, 15 minutes' lockout.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5, least=1)
# At least a minute: at 0 axes forgets each failure as it records it, and nothing is ever locked.
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15, least=1)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Honours TRUSTED_PROXY_COUNT; an IPv6 client counts by its /64.
AXES_CLIENT_IP_CALLABLE = "consult.intake.limits.client_address_for_lockout"
AXES_USERNAME_CALLABLE = "consult.web.login.login_username"  # kept to its column's length
AXES_LOCKOUT_TEMPLATE = "login_locked.html"
AXES_LOCKOUT_CALLABLE = "consult.web.login.lockout_response"  # the template, and Retry-After
# Where a sign-in lands when its `next` is refused (another site's address): Django's own
# /accounts/profile/ is no page here, a 404 straight after signing in.
LOGIN_REDIRECT_URL = "admin:index"

ROOT_URLCONF = "consult.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

WSGI_APPLICATION = "consult.wsgi.application"

# Database ------------------------------------------------------------------
# SQLite in WAL mode with IMMEDIATE transactions: a deferred transaction that reads
# and then writes fails at once with "database is locked" under concurrent writers.
try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'consult.sqlite3'}")
    }
    DATABASES["default"]["ENGINE"]
except (KeyError, ValueError) as error:
    reason = "no database it knows" if isinstance(error, KeyError) else str(error)
    raise ImproperlyConfigured(
        f"DATABASE_URL cannot be read ({reason}): give it as "
        "postgres://user@host:5432/name or sqlite:////path/to/file."
    ) from None
if not env.str("DATABASE_URL", default=""):
    # The embedded database lives under var/, which a fresh clone does not have yet: SQLite
    # cannot create it ("unable to open database file" from `manage.py migrate`).
    with contextlib.suppress(OSError):
        VAR_DIR.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60, least=0))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# PostgreSQL prepares the statements of consult/prepared.py (a comment's consultation and its
# one write) on each connection; Django's other queries never. Off for a pooler that cannot
# keep prepared statements, or connections that live one request (README, production).
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)
# Behind a pooler in transaction mode (prepared statements off, README), Django's .iterator()
# outside a transaction must not use a server-side cursor: the next fetch may reach another
# server connection, where the cursor does not exist.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("DISABLE_SERVER_SIDE_CURSORS", not DATABASE_PREPARED_STATEMENTS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and time -----------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Times shown and read with their seconds: a comment period ends at 23:59:59 (consult.formats).
FORMAT_MODULE_PATH = ["consult.formats"]
# The privacy page says the cookie remembers the language chosen: past the browser's session
# too (Django's default cookie ends with it), for a year, sent only over HTTPS where the
# session cookie is.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Static and uploaded files -----------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Citizens' attachments live outside any web root and are served only through a view
# that checks who may see the comment.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# Mail --------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="consult <noreply@consult.localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_HOST = env.str("EMAIL_HOST", default="")
if EMAIL_HOST:
    EMAIL_BACKEND = "consult.mail.SMTPBackend"
    EMAIL_PORT = env.int("EMAIL_PORT", default=25, least=1)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
    EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30, least=1)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        # Otherwise every delivery fails in Django's backend, and each email waits pending.
        raise ImproperlyConfigured(
            "EMAIL_USE_TLS (STARTTLS, usually port 587) and EMAIL_USE_SSL (TLS from the start, "
            "usually port 465) exclude each other: set one."
        )
else:
    EMAIL_BACKEND = "consult.mail.OneFilePerMessageBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# Celery --------------------------------------------------------------------------
# Without a broker, tasks run in-process (eager): the embedded mode needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Never let a request hang on a broker that accepts connections but does not answer;
# every countdown and retry delay must stay below the visibility timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": 3,
    "socket_connect_timeout": 3,
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600, least=1),
    # Fail at once when Redis is unreachable: the outbox keeps the work, the sweep resends.
    "max_retries": 0,
}
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Mail has its own queue, and large exports theirs: a worker that consumes only `notifications`
# is never taken up by exports or grouping, and exports that run for minutes never hold back
# the periodic jobs (the outbox sweep, digests, reminders) on the default `celery` queue.
CELERY_TASK_ROUTES = {
    "consult.notifications.tasks.*": {"queue": "notifications"},
    "consult.comments.tasks.build_export": {"queue": "exports"},
}
# Periodic jobs (consult.jobs): each its own beat entry, so one that fails or runs long never
# holds back another. `run_due_jobs` runs the same jobs from cron in the embedded mode.
#   campaigns     group near-identical comments into form-letter campaigns
#   reminders     deadline reminders to departments and the issuing bureau
#   digests       hand on digests whose window has closed (daily digests in particular)
#   personal-data-retention  remove submitters' personal data past PERSONAL_DATA_RETENTION_DAYS,
#                            and exports past EXPORT_KEEP_DAYS
#   outbox-sweep  re-send notifications a lost publish or a dead worker left pending
#   export-sweep  hand on large exports a refused publish or a dead worker left unbuilt
#   expired-sessions  delete sessions past their expiry (every comment form's visitor gets one)
PERIODIC_JOBS_EVERY_SECONDS = {
    "campaigns": env.float("CAMPAIGN_GROUP_EVERY_SECONDS", default=30.0, above=0),
    "reminders": env.float("DUE_JOBS_EVERY_SECONDS", default=300.0, above=0),
    "digests": env.float("DIGESTS_EVERY_SECONDS", default=60.0, above=0),
    "personal-data-retention": env.float("RETENTION_EVERY_SECONDS", default=86400.0, above=0),
    # Subscribers hear of a consultation within this long of its opening.
    "new-consultations": env.float("NEW_CONSULTATIONS_EVERY_SECONDS", default=300.0, above=0),
    "unconfirmed-subscriptions": env.float("UNCONFIRMED_EVERY_SECONDS", default=3600.0, above=0),
    "outbox-sweep": env.float("NOTIFY_SWEEP_EVERY_SECONDS", default=60.0, above=0),
    "export-sweep": env.float("EXPORT_SWEEP_EVERY_SECONDS", default=60.0, above=0),
    "expired-sessions": env.float("EXPIRED_SESSIONS_EVERY_SECONDS", default=86400.0, above=0),
}
CELERY_BEAT_SCHEDULE = {
    name: {
        "task": "consult.jobs.tasks.run_job",
        "args": (name,),
        "schedule": every,
        # A beat message that waited longer than an interval is dropped: the next does its work.
        "options": {"expires": every},
    }
    for name, every in PERIODIC_JOBS_EVERY_SECONDS.items()
}

# Notifications ------------------------------------------------------------------------
# The right-hand side of every Message-ID: the site's own domain unless set (a relay may score
# a .localhost Message-ID as spam).
_SITE_HOST = urlsplit(SITE_URL).hostname or ""
NOTIFY_MESSAGE_ID_DOMAIN = env.str(
    "NOTIFY_MESSAGE_ID_DOMAIN",
    default=_SITE_HOST if re.search(r"[a-z]\.[a-z]+$", _SITE_HOST) else "consult.localhost",
)
# An email that cannot be sent waits for its retry (exponential backoff from the base, with
# jitter, capped at the maximum, which must stay below the broker's visibility timeout) and is
# given up on only after NOTIFY_GIVE_UP_AFTER seconds of continuous failure (48 hours: a relay
# down over a night or a weekend day loses nothing), or at once on a permanent 5xx refusal.
NOTIFY_GIVE_UP_AFTER = env.float("NOTIFY_GIVE_UP_AFTER", default=48 * 3600.0, least=0)
NOTIFY_RETRY_BASE_SECONDS = env.float("NOTIFY_RETRY_BASE_SECONDS", default=30.0, above=0)
NOTIFY_RETRY_MAX_SECONDS = env.float("NOTIFY_RETRY_MAX_SECONDS", default=1800.0, above=0)
# Not a count of SMTP failures (those are given up on by time): how many times sending one
# email may be interrupted by a worker that died mid-send before it is given up on, so a
# message that crashes the worker is not redelivered forever.
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=8, least=1)
# A process claims one email at a time, just before sending it, for this long, and renews the
# claim between SMTP commands once half of it has gone (a slow relay answering a reminder's
# many recipients one by one); it must exceed twice EMAIL_TIMEOUT, the longest wait for one
# answer.
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=120, least=1)
# The sweep leaves a row this long to the publish that follows its commit before it takes the
# hand-off as lost. A row handed to the broker is re-sent only after the visibility timeout.
NOTIFY_SWEEP_AFTER_SECONDS = env.int("NOTIFY_SWEEP_AFTER_SECONDS", default=120, least=0)
# The admin and check_workers flag an email still undelivered this long after it was due.
NOTIFY_PENDING_ALERT_SECONDS = env.int("NOTIFY_PENDING_ALERT_SECONDS", default=3600, least=0)
NOTIFY_DAILY_DIGEST_HOUR = env.int("NOTIFY_DAILY_DIGEST_HOUR", default=8)
# After the broker refuses a task, requests stop trying it for this long (the sweep resends).
NOTIFY_BROKER_PAUSE_SECONDS = env.float("NOTIFY_BROKER_PAUSE_SECONDS", default=5.0, least=0)
# Publish delivery tasks from a background thread instead of the request's own (see outbox).
NOTIFY_PUBLISH_IN_BACKGROUND = env.bool("NOTIFY_PUBLISH_IN_BACKGROUND", default=True)
# The publisher thread keeps its database connection while work keeps coming; idle this long,
# it gives it back.
NOTIFY_PUBLISHER_IDLE_SECONDS = env.float("NOTIFY_PUBLISHER_IDLE_SECONDS", default=1.0, least=0)
# Notifications due now travel to the workers in tasks of at most this many (one SMTP
# connection per task); under load, one task carries what many requests stored.
NOTIFY_DELIVERY_BATCH_SIZE = env.int("NOTIFY_DELIVERY_BATCH_SIZE", default=50, least=1)
# A digest email lists at most this many comments, oldest first, and counts the rest with a
# link to the queue: a flood in one window must not become an email no server will take.
# At least one: an email lists what it is about.
NOTIFY_DIGEST_MAX_ITEMS = env.int("NOTIFY_DIGEST_MAX_ITEMS", default=50, least=1)
# How long the publisher thread waits for more after the first hand-off of a round.
NOTIFY_PUBLISH_LINGER_SECONDS = env.float("NOTIFY_PUBLISH_LINGER_SECONDS", default=0.5, least=0)

# Reminders: days before the close and before the answer deadline, at this local hour;
# overdue reminders to the issuing bureau the day after the answer deadline, then weekly.
# A day of 0 or less would never be reminded on (consult.comments.reminders skips it).
REMIND_DAYS_BEFORE_CLOSE = env.list("REMIND_DAYS_BEFORE_CLOSE", cast=int, default=[3, 1], least=1)
REMIND_DAYS_BEFORE_ANSWER_DEADLINE = env.list(
    "REMIND_DAYS_BEFORE_ANSWER_DEADLINE", cast=int, default=[5, 1], least=1
)
REMIND_OVERDUE_EVERY_DAYS = env.int("REMIND_OVERDUE_EVERY_DAYS", default=7, least=1)
REMIND_AT_HOUR = env.int("REMIND_AT_HOUR", default=9)
for _name in ("REMIND_AT_HOUR", "NOTIFY_DAILY_DIGEST_HOUR"):
    if not 0 <= globals()[_name] <= 23:
        raise ImproperlyConfigured(f"{_name} is an hour of the day, 0 to 23.")

# Exports of more rows than this are built by a task instead of inside the request.
EXPORT_INLINE_ROWS = env.int("EXPORT_INLINE_ROWS", default=5000, least=0)
# A built export file (names and phones, as its maker saw them) is downloadable for this many
# days; the daily personal-data-retention job then deletes it.
# At least a day: at 0 a large export was deleted from the list before its maker could
# download it.
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7, least=1)
# A worker building an export reports progress every thousand rows; one silent this long died
# with its worker, and the export-sweep job gives the export to another. An export whose task
# the broker refused is handed on again NOTIFY_SWEEP_AFTER_SECONDS after it was asked for.
EXPORT_LEASE_SECONDS = env.int("EXPORT_LEASE_SECONDS", default=600, least=1)
# How many workers may take one export before it is given up on as failed (one that kills its
# worker is not retried for ever). An export that outlasts its time limit fails at once.
EXPORT_MAX_ATTEMPTS = env.int("EXPORT_MAX_ATTEMPTS", default=3, least=1)
# A large export may take longer than other tasks' CELERY_TASK_SOFT_TIME_LIMIT. Its hard limit
# (a minute later) stays below the broker's visibility timeout, after which Redis would hand the
# same message to another worker (harmless, the claim refuses it, but wasted).
EXPORT_SOFT_TIME_LIMIT_SECONDS = env.int("EXPORT_SOFT_TIME_LIMIT_SECONDS", default=50 * 60, least=1)

# Form-letter campaigns: comments whose character 3-grams overlap this much are grouped.
# A share of 3-grams: at 0 every comment is one campaign, above 1 none is ever grouped.
CAMPAIGN_SIMILARITY = env.float("CAMPAIGN_SIMILARITY", default=0.5, above=0, most=1)

# Django REST framework ------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # JSON only: the browsable API's HTML pages (DRF's English, its own forms) are no part of
    # the site; the API is documented at /api/docs/.
    "DEFAULT_RENDERER_CLASSES": ["consult.intake.renderers.OneLayoutJSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "consult API",
    "DESCRIPTION": "Read drafts for public comment, submit comments, look up their status.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two "status" enums: named by what they are the status of.
    "ENUM_NAME_OVERRIDES": {
        "ConsultationStatusEnum": "consult.consultations.models.Consultation.Status",
        "CommentStatusEnum": "consult.comments.models.Comment.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "consult.intake.api.request_bodies_closed",
    ],
}

# Security ----------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, refusing a forged key before it reaches the database.
SESSION_ENGINE = "consult.web.sessions"
# A staff login on a shared office computer must not keep citizens' names and phones open for
# Django's two weeks: it ends this long after signing in, a working day by default. Not renewed
# by each request (SESSION_SAVE_EVERY_REQUEST would write a session to the database on every
# request a browser with one makes, comment posts included), so a longer day means signing in
# again. A citizen writing longer than this loses nothing: the comment form's CSRF token is a
# cookie, its CAPTCHA in the database; its session only tells a double click from a new comment.
SESSION_HOURS = env.int("SESSION_HOURS", default=8, least=1)
SESSION_COOKIE_AGE = SESSION_HOURS * 60 * 60
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# The load balancer asks /healthz, and monitoring /healthz/jobs, over plain HTTP on the
# private side.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/jobs$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000, least=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy: no inline script anywhere, nothing loaded from other hosts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# The cache holds the rate-limit counters and the repeat check, so every web process must
# share one: Redis at CACHE_URL, else at a Redis broker's URL; without Redis the database, or
# each process's memory in development (DEBUG). A per-process cache with several web
# processes (WEB_CONCURRENCY, gunicorn's own variable) fails `check --deploy`.
CACHE_URL = env.str("CACHE_URL", default="")
if not CACHE_URL and CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHE_URL = CELERY_BROKER_URL
# A Redis that errors or stops answering costs a request at most this long (no retries); the
# process then leaves it alone for CACHE_RETRY_AFTER_SECONDS, as if under every limit.
# No timeout at all is not "wait for ever": redis-py makes a socket with timeout 0 non-blocking.
CACHE_TIMEOUT_SECONDS = env.float("CACHE_TIMEOUT_SECONDS", default=0.1, above=0)
CACHE_RETRY_AFTER_SECONDS = env.float("CACHE_RETRY_AFTER_SECONDS", default=1.0, least=0)
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    # Anything else would pass the checks and fail every request that counts a limit.
    raise ImproperlyConfigured(
        f"CACHE_URL must be a Redis URL (redis://, rediss:// or unix://), not {CACHE_URL!r}; "
        "leave it unset for the database's cache."
    )
if CACHE_URL:
    # Its keys start with "consult:", and its clear() deletes only those (a broker's database).
    _CACHE = {
        "BACKEND": "consult.cache.FailOpenRedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "consult",
    }
elif DEBUG:
    _CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
else:
    # Its table comes with `migrate` (comments 0012); counters outlive a cull of old entries.
    _CACHE = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "consult_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
CACHES = {"default": _CACHE}
# How many web processes serve requests (gunicorn reads the same variable as its --workers).
WEB_CONCURRENCY = env.int("WEB_CONCURRENCY", default=1, least=1)

# Citizen intake -----------------------------------------------------------------------
# Who runs the site, in the public pages' footer (a consultation's page names its issuer).
SITE_CONTACT = {
    key: env.str(f"SITE_CONTACT_{key.upper()}", default="")
    for key in ("name", "address", "phone", "email")
}
# Who answers a comment on a section heading (which names no department itself): "issuer",
# the issuing bureau, with the leads of the items below it cooperating; or "first_lead", the
# first of those leads, the others cooperating.
ROUTING_HEADING_OWNER = env.str("ROUTING_HEADING_OWNER", default="issuer")
if ROUTING_HEADING_OWNER not in ("issuer", "first_lead"):
    raise ImproperlyConfigured("ROUTING_HEADING_OWNER must be issuer or first_lead.")
# Rate limits, as "count/period" (s, m, h, d); each list entry must hold.
COMMENT_RATE_LIMITS_PER_IP = env.list("COMMENT_RATE_LIMITS_PER_IP", default=["5/m", "50/d"])
COMMENT_RATE_LIMITS_PER_CONTACT = env.list(
    "COMMENT_RATE_LIMITS_PER_CONTACT", default=["5/m", "50/d"]
)
STATUS_LOOKUP_RATE_LIMITS = env.list("STATUS_LOOKUP_RATE_LIMITS", default=["10/m", "100/d"])
STATUS_LOOKUP_RATE_LIMITS_PER_NUMBER = env.list(
    "STATUS_LOOKUP_RATE_LIMITS_PER_NUMBER", default=["10/h", "30/d"]
)
for _name in (
    "COMMENT_RATE_LIMITS_PER_IP",
    "COMMENT_RATE_LIMITS_PER_CONTACT",
    "STATUS_LOOKUP_RATE_LIMITS",
    "STATUS_LOOKUP_RATE_LIMITS_PER_NUMBER",
):
    for _rate in globals()[_name]:
        try:
            rate_parse(_rate)
        except ValueError as error:
            raise ImproperlyConfigured(f"{_name}: {error}.") from None
# Behind a reverse proxy, how many proxies append to X-Forwarded-For (0: use REMOTE_ADDR).
# Negative, client_ip() would count from the left, where the client writes what it likes.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0, least=0)
# An offline image CAPTCHA on the comment form (django-simple-captcha); off by default.
COMMENT_CAPTCHA = env.bool("COMMENT_CAPTCHA", default=False)
CAPTCHA_IMAGE_SIZE = (120, 40)
CAPTCHA_LENGTH = 5
# Minutes a CAPTCHA stays answerable, counted from the form's page: the package's 5 told a
# citizen who wrote for longer that their right answer was wrong. Each may still be tried once.
CAPTCHA_TIMEOUT = 120
# How long a reverse proxy may serve an anonymous visitor's copy of a public page (the list,
# a consultation, its report, the API's consultations): a flash crowd costs one render a page
# per this many seconds. Comment counts on those pages lag by at most this much.
PUBLIC_PAGES_MAX_AGE = env.int("PUBLIC_PAGES_MAX_AGE", default=30, least=0)
# Shedding a surge (consult.web.load_shedding): under gunicorn's threaded workers, how many
# requests a process works on at once; one that waits longer than WEB_QUEUE_WAIT_SECONDS for
# a turn, or finds WEB_MAX_WAITING_REQUESTS waiting already, is answered 503 with Retry-After.
# 0 turns it off. Two: a comment's request mostly computes (its write is one statement), so two
# in hand per process keep the CPU busy, and more only lengthen the queue for the interpreter
# lock that a refusal waits in too (bench/intake.py --surge: the 503s' p99 108 ms with 4,
# 50 ms with 2, at the same goodput).
WEB_MAX_CONCURRENT_REQUESTS = env.int("WEB_MAX_CONCURRENT_REQUESTS", default=2, least=0)
WEB_QUEUE_WAIT_SECONDS = env.float("WEB_QUEUE_WAIT_SECONDS", default=0.02, least=0)
WEB_MAX_WAITING_REQUESTS = env.int("WEB_MAX_WAITING_REQUESTS", default=2, least=0)
WEB_RETRY_AFTER_SECONDS = env.int("WEB_RETRY_AFTER_SECONDS", default=5, least=0)
# How long personal data of comments is kept after the consultation's report (PIPL notice).
# A sign slip would count the retention back from before the report: personal data of open
# consultations gone, for good, at the next daily run.
PERSONAL_DATA_RETENTION_DAYS = env.int("PERSONAL_DATA_RETENTION_DAYS", default=365, least=0)
# Upload size limit for the whole request: the 10 MB attachment plus the form.
DATA_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Client IPs are kept only as a keyed hash (PIPL: collect the minimum).
IP_HASH_KEY = env.str("IP_HASH_KEY", default=SECRET_KEY)

# Every handler redacts the tokens of receipt and status links and the proofs in status-lookup
# query strings (consult.web.log_redaction): a log line never opens a citizen's comment.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    # Otherwise logging's own "Unable to configure root logger" traceback, naming nothing.
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}."
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secret_links": {"()": "consult.web.log_redaction.RedactSecretLinks"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secret_links"],
        },
        # runserver's request lines, as Django prints them, redacted.
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact_secret_links"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django attaches its own console handler; let one handler print each line.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
