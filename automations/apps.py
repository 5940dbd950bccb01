from __future__ import annotations

from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django_q.signals import post_spawn

        from automations import queue_locks
        from automations.runtime import start_in_worker

        # qcluster frees a queue lock left held by a killed process (django-q2 #23).
        queue_locks.install()
        if settings.BEACON_DELIVERY_THREADS > 0:
            # Each qcluster worker process runs its deliveries on threads, with a poller.
            post_spawn.connect(start_in_worker, dispatch_uid="beacon-delivery-runtime")
