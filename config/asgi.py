from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# Like config/wsgi.py: no start with a FIELD_ENCRYPTION_KEY that cannot read the secrets.
from teams.encryption import verify_encryption_key  # noqa: E402

verify_encryption_key()
