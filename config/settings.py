"""Beacon settings: one module, driven by environment variables (django-environ).

Variables are read from the process environment first, then from ``.env`` in
the project folder. On first run a missing ``SECRET_KEY`` or
``FIELD_ENCRYPTION_KEY`` is generated into ``.env`` (git-ignored).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ

from config.bootstrap import (
    ensure_keys,
    ensure_private_dir,
    ensure_private_file,
    parse_encryption_keys,
    validate_secret_key,
)
from config.durations import parse_duration

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_FILE = Path(os.environ.get("BEACON_ENV_FILE", BASE_DIR / ".env"))
DATA_DIR = Path(os.environ.get("BEACON_DATA_DIR", BASE_DIR / "data"))

ensure_keys(ENV_FILE)

env = environ.Env()
# Process environment wins over .env (read_env never overrides what is set).
environ.Env.read_env(ENV_FILE, overwrite=False)

SECRET_KEY = validate_secret_key(env.str("SECRET_KEY"))
FIELD_ENCRYPTION_KEY = parse_encryption_keys(env.str("FIELD_ENCRYPTION_KEY"))

# Off unless DEBUG says so; `make run` (a local demo) sets BEACON_LOCAL=true, which
# turns the default on (and with it deliveries to loopback receivers).
DEBUG = env.bool("DEBUG", default=env.bool("BEACON_LOCAL", default=False))
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
# An integration whose deliveries have only failed for this long is disabled.
BEACON_DISABLE_AFTER = parse_duration(
    env.str("BEACON_DISABLE_AFTER", default="5d"), "BEACON_DISABLE_AFTER"
)
# Deliveries (README "Delivery"): threads per worker process, deliveries in flight per
# integration, how often a worker looks for due deliveries, and the claim's margin
# over the connect + read timeouts.
BEACON_DELIVERY_THREADS = env.int("BEACON_DELIVERY_THREADS", default=8)
BEACON_DELIVERY_PER_DESTINATION = env.int("BEACON_DELIVERY_PER_DESTINATION", default=1)
BEACON_DELIVERY_POLL = env.float("BEACON_DELIVERY_POLL", default=0.5)
BEACON_CLAIM_MARGIN = env.float("BEACON_CLAIM_MARGIN", default=5.0)
# Events processed together by one task (those waiting when it runs), and deliveries
# to one destination claimed together by one delivery thread.
BEACON_EVENT_BATCH = env.int("BEACON_EVENT_BATCH", default=100)
BEACON_DELIVERY_BATCH = env.int("BEACON_DELIVERY_BATCH", default=50)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "django_q",
    "encrypted_model_fields",
    "ninja",  # serves the /api/v1/docs assets itself instead of from a CDN
    "teams",
    "projects",
    "registries",
    "automations",
    "inbox",
    "mlflow_api",
    "wandb_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
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

ensure_private_dir(DATA_DIR)  # 0700: it holds the SQLite file and the demo login
# Run and model files (MLflow's log_artifact, log_model); local folder by default.
BEACON_ARTIFACT_ROOT = Path(env.str("BEACON_ARTIFACT_ROOT", default=str(DATA_DIR / "artifacts")))
# W&B endpoint (wandb_api): a running run without a heartbeat for this long is
# crashed; signed upload/download URLs expire after BEACON_WANDB_UPLOAD_URL_TTL.
BEACON_RUN_HEARTBEAT_TIMEOUT = parse_duration(
    env.str("BEACON_RUN_HEARTBEAT_TIMEOUT", default="300"), "BEACON_RUN_HEARTBEAT_TIMEOUT"
)
BEACON_WANDB_UPLOAD_URL_TTL = int(
    parse_duration(
        env.str("BEACON_WANDB_UPLOAD_URL_TTL", default="1d"), "BEACON_WANDB_UPLOAD_URL_TTL"
    ).total_seconds()
)
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'beacon.sqlite3'}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker share the file: wait for locks instead of
    # failing, and use a file test database so a real qcluster can reach it.
    # WAL lets readers go on while one writer writes; IMMEDIATE takes the write
    # lock when a transaction starts (no deadlock-prone lock upgrades); the busy
    # timeout makes a writer wait for the lock instead of failing at once.
    # (synchronous stays FULL: an answered write survives a power loss too.)
    SQLITE_BUSY_TIMEOUT = env.int("BEACON_SQLITE_TIMEOUT", default=30)  # seconds
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": SQLITE_BUSY_TIMEOUT,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT * 1000};"
            ),
        }
    )
    DATABASES["default"]["TEST"] = {
        "NAME": str(DATA_DIR / f"test-beacon-{os.getpid()}.sqlite3")
    }
else:
    # One test database per test process, so parallel runs don't collide.
    DATABASES["default"]["TEST"] = {
        "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    }
# Django closes "old" connections around every request and every qcluster task: with
# its default CONN_MAX_AGE of 0 that is a new database connection each (about 8 ms on
# PostgreSQL on loopback, 2 ms on SQLite with its PRAGMAs). Web and worker
# processes keep theirs for a minute instead, checked before reuse (a restarted
# database costs one failed check, not an error). gunicorn's sync workers serve one
# request at a time: one connection per web process.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("BEACON_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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
# Browser libraries come from npm at install time (package.json, `make install` runs
# `npm ci`), never committed: uPlot draws the run charts, served as static/uplot/.
JS_LIBRARIES = BASE_DIR / "node_modules"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [
    BASE_DIR / "static",
    ("uplot", JS_LIBRARIES / "uplot" / "dist"),
]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it, even before collectstatic
WHITENOISE_USE_FINDERS = True

# Request bodies: the history endpoint accepts up to 10,000 rows per call.
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# --- Short write transactions (platform) ----------------------------------------
# A history post is written in chunks of about this many values, one short
# transaction each, so a large upload never holds the (SQLite) write lock for long.
BEACON_HISTORY_CHUNK_POINTS = env.int("BEACON_HISTORY_CHUNK_POINTS", default=5000)
# Seconds between chunks, so other writers waiting for SQLite's one write lock get it
# (SQLite does not queue them). PostgreSQL locks rows and needs no pause.
BEACON_HISTORY_CHUNK_PAUSE = env.float(
    "BEACON_HISTORY_CHUNK_PAUSE",
    default=0.1 if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else 0.0,
)

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

# --- Production defaults (ops) ------------------------------------------------
# Behind https (BEACON_BASE_URL), cookies are Secure, HSTS is on, plain http is
# redirected and the CSP is enforced; each is overridable. Behind a proxy that
# terminates TLS, gunicorn trusts X-Forwarded-Proto from FORWARDED_ALLOW_IPS
# (loopback by default); or set SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto.
BEACON_HTTPS = BEACON_BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=BEACON_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=BEACON_HTTPS)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=BEACON_HTTPS)
# Load balancers probe the backend over plain http.
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health$", r"^api/v1/ready$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if BEACON_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=BEACON_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=BEACON_HTTPS)
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https"
    )
if BEACON_HTTPS and not CSRF_TRUSTED_ORIGINS:
    CSRF_TRUSTED_ORIGINS = [BEACON_BASE_URL]

# Content Security Policy (django-csp): every script and style is a file served
# by Beacon itself (no inline <script>, no style attributes, no CDN).
BEACON_CSP_DIRECTIVES: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Enforced behind https; elsewhere (local http) only reported in the browser console.
if env.bool("BEACON_CSP_ENFORCE", default=BEACON_HTTPS):
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": BEACON_CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": BEACON_CSP_DIRECTIVES}

# The SQLite file is private to Beacon's user (0600), like the data folder.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    ensure_private_file(str(DATABASES["default"]["NAME"]))
# --- end of production defaults (ops) -----------------------------------------

# --- Throttling (platform) --------------------------------------------------------
# Logins (/login/ and /admin/login/): django-axes locks a username out from one
# address after BEACON_LOGIN_FAILURE_LIMIT failures, for BEACON_LOGIN_COOLOFF_MINUTES.
INSTALLED_APPS.append("axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as django-axes asks
AUTHENTICATION_BACKENDS = [
    "teams.lockout.LoginLockoutBackend",  # refuses locked-out logins before checking them
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("BEACON_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("BEACON_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "teams.lockout.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # lockouts; not every attempt

# The API (config/ratelimit.py): requests per minute per key, and wrong keys per
# client address per period; 0 turns a limit off.
BEACON_API_RATE = env.int("BEACON_API_RATE", default=1200)
BEACON_API_BAD_KEY_LIMIT = env.int("BEACON_API_BAD_KEY_LIMIT", default=20)
BEACON_API_BAD_KEY_PERIOD = env.int("BEACON_API_BAD_KEY_PERIOD", default=600)

# Counters live in Django's cache, shared by every web process: Redis when
# REDIS_URL is set, else files under BEACON_CACHE_DIR (not the database, so
# counting a request never waits for SQLite's write lock).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "beacon",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            # Django's file cache with an atomic, in-place incr (config/cache.py).
            "BACKEND": "config.cache.FileCache",
            "LOCATION": env.str("BEACON_CACHE_DIR", default=str(DATA_DIR / "cache")),
            # Every write lists the folder to cull it: keep it small. Counters are
            # per window and expire; culling one early only forgives a few requests.
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    }
