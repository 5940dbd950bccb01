"""Run Beacon's web server (gunicorn) and the django-q2 cluster together, supervised.

A crashed web server or worker is restarted with a short backoff; Ctrl-C (or
SIGTERM) stops both, and every process they started, before "Beacon stopped." is
printed. See config/supervisor.py.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from config.supervisor import Service, Supervisor


class Command(BaseCommand):
    help = (
        "Run Beacon's web server (gunicorn, WEB_CONCURRENCY workers) and background "
        "worker (qcluster) together; restarts either if it crashes, Ctrl-C stops both."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument(
            "--grace", type=float, default=float(os.environ.get("BEACON_STOP_GRACE", "10")),
            help="seconds the web server and the worker get to stop before they are killed",
        )

    def handle(self, *args: Any, host: str, port: str, grace: float, **options: Any) -> None:
        logging.getLogger("beacon.serve").setLevel(logging.INFO)
        base = Path(settings.BASE_DIR)
        python = sys.executable
        web = Service("web", [
            python, "-m", "gunicorn", "-c", str(base / "config" / "gunicorn_conf.py"),
            "--bind", f"{host}:{port}", "config.wsgi:application",
        ])
        worker = Service("worker", [python, str(base / "manage.py"), "qcluster"])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        supervisor = Supervisor([web, worker], cwd=base, env=env, grace=grace)
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        self.stdout.write(f"Beacon on http://{host}:{port}/ (Ctrl-C stops it)")
        self.stdout.flush()
        code = supervisor.run()
        if code:
            self.stderr.write(supervisor.failed or "Beacon failed.")
            raise SystemExit(code)
        self.stdout.write("Beacon stopped.")
