"""Beacon's settings with the ingest benchmark's URLconf, for the gunicorn it starts
(``DJANGO_SETTINGS_MODULE=ingest_settings``, ``benchmarks/`` on ``PYTHONPATH``)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "ingest_urls"
