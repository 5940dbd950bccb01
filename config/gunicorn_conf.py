"""Gunicorn settings for Beacon's web process.

    gunicorn -c config/gunicorn_conf.py config.wsgi:application

Everything comes from the environment, so ``make run``, the ``Procfile`` and the
systemd units share one configuration:

- ``WEB_CONCURRENCY``: worker processes (default 2);
- ``HOST`` / ``PORT``: where to listen (default 127.0.0.1:8000); ``--bind`` wins;
- ``BEACON_GRACEFUL_TIMEOUT``: seconds in-flight requests get to finish after
  SIGTERM (default 20);
- ``FORWARDED_ALLOW_IPS`` (gunicorn's own): proxies trusted for ``X-Forwarded-Proto``.
"""

from __future__ import annotations

import os

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
graceful_timeout = int(os.environ.get("BEACON_GRACEFUL_TIMEOUT", "20"))
# History posts of 10,000 rows take a while on a busy machine.
timeout = int(os.environ.get("BEACON_WEB_TIMEOUT", "60"))
accesslog = "-"
errorlog = "-"
proc_name = "beacon-web"
# Several web processes may run on one host: no shared control socket (gunicorn ≥ 24).
control_socket_disable = True
