from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# A FIELD_ENCRYPTION_KEY that cannot decrypt the stored secrets stops the web
# process here (management commands, the worker included, stop at the system check).
from teams.encryption import verify_encryption_key  # noqa: E402

verify_encryption_key()
