"""Beacon settings: one module, driven by environment variables (django-environ).

Variables are read from the process environment first, then from ``.env`` in
the project folder. On first run a missing ``SECRET_KEY`` or
``FIELD_ENCRYPTION_KEY`` is generated into ``.env`` (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

from config.bootstrap import ensure_keys, parse_encryption_keys, validate_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = Path(os.environ.get("BEACON_ENV_FILE", BASE_DIR / ".env"))
DATA_DIR = Path(os.environ.get("BEACON_DATA_DIR", BASE_DIR / "data"))

ensure_keys(ENV_FILE)

env = environ.Env()
# Process environment wins over .env (read_env never overrides what is set).
environ.Env.read_env(ENV_FILE, overwrite=False)

SECRET_KEY = validate_secret_key(env.str("SECRET_KEY"))
FIELD_ENCRYPTION_KEY = parse_encryption_keys(env.str("FIELD_ENCRYPTION_KEY"))

DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

PORT = env.int("PORT", default=8000)
BEACON_BASE_URL = env.str("BEACON_BASE_URL", default=f"http://127.0.0.1:{PORT}").rstrip("/")
# Locally (DEBUG) deliveries may reach loopback receivers; in production only public hosts.
BEACON_ALLOWED_PRIVATE_NETWORKS = env.list(
    "BEACON_ALLOWED_PRIVATE_NETWORKS", default=["127.0.0.0/8", "::1/128"] if DEBUG else []
)
BEACON_RETRY_SCHEDULE = [
    int(s) for s in env.list("BEACON_RETRY_SCHEDULE", default=[
        "0", "5", "300", "1800", "7200", "18000", "36000", "36000",
    ])
]
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
BEACON_WEBHOOK_CONNECT_TIMEOUT = env.float("BEACON_WEBHOOK_CONNECT_TIMEOUT", default=5.0)
BEACON_WEBHOOK_READ_TIMEOUT = env.float("BEACON_WEBHOOK_READ_TIMEOUT", default=15.0)
# Deliveries (README "Delivery"): threads per worker process, deliveries in flight per
# integration, how often a worker looks for due deliveries, and the claim's margin
# over the connect + read timeouts.
BEACON_DELIVERY_THREADS = env.int("BEACON_DELIVERY_THREADS", default=8)
BEACON_DELIVERY_PER_DESTINATION = env.int("BEACON_DELIVERY_PER_DESTINATION", default=1)
BEACON_DELIVERY_POLL = env.float("BEACON_DELIVERY_POLL", default=0.5)
BEACON_CLAIM_MARGIN = env.float("BEACON_CLAIM_MARGIN", default=5.0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "encrypted_model_fields",
    "ninja",  # serves the /api/v1/docs assets itself instead of from a CDN
    "teams",
    "projects",
    "registries",
    "automations",
    "inbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.ApiErrorShapeMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "teams.context_processors.teams",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'beacon.sqlite3'}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share the file: wait for locks instead of
    # failing, and use a file test database so a real qcluster can reach it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    )
    DATABASES["default"]["TEST"] = {
        "NAME": str(DATA_DIR / f"test-beacon-{os.getpid()}.sqlite3")
    }
else:
    # One test database per test process, so parallel runs don't collide.
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it, even before collectstatic
WHITENOISE_USE_FINDERS = True

# Request bodies: the history endpoint accepts up to 10,000 rows per call.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER: dict[str, object] = {
    "name": "beacon",
    "workers": env.int("BEACON_WORKERS", default=2),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "save_limit": 1000,
    "catch_up": False,
    "ack_failures": True,
    "label": "Background queue",
    # django-q2 needs this key when Q_CLUSTER_NAME names another cluster (tests run one each).
    "ALT_CLUSTERS": {},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.2

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
