"""Periodic task: runs whose wandb process went silent become ``crashed``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects.models import Run
from wandb_api.models import WandbRun

log = logging.getLogger(__name__)


def detect_crashed_runs() -> int:
    """Mark ``crashed`` every running run that logged through the W&B endpoint and sent
    no heartbeat for ``BEACON_RUN_HEARTBEAT_TIMEOUT``; emits ``RUN_STATE`` with the
    reason. Returns how many runs crashed."""
    timeout = settings.BEACON_RUN_HEARTBEAT_TIMEOUT
    cutoff = timezone.now() - timeout
    stale = WandbRun.objects.filter(
        run__state=Run.State.RUNNING, last_heartbeat_at__lt=cutoff
    ).values_list("pk", flat=True)
    crashed = 0
    for pk in list(stale):
        with transaction.atomic():
            side = (
                WandbRun.objects.select_for_update()
                .select_related("run__project__team")
                .filter(pk=pk, run__state=Run.State.RUNNING, last_heartbeat_at__lt=cutoff)
                .first()
            )
            if side is None:  # a heartbeat or the final post arrived meanwhile
                continue
            seconds = int(timeout.total_seconds())
            reason = (
                f"No heartbeat from the wandb process for {seconds} s "
                f"(last at {side.last_heartbeat_at.isoformat()}): it died without finishing."
            )
            if side.run.set_state(Run.State.CRASHED, None, reason=reason):
                crashed += 1
                log.info("wandb run %s crashed: %s", side.run.ref, reason)
    return crashed
