"""Profile event processing and delivery in one process (pyinstrument), for docs/profiles/.

    python benchmarks/profile_delivery.py [embedded|postgres] > docs/profiles/delivery-<config>.txt

Processes ``N`` failed-run events (``process_event`` per event: the first processes
the batch, the others find theirs done) and makes their ``N`` deliveries (claims of
the destination's due executions; render, sign, send to a loopback keep-alive
receiver, record each) the way a worker's task and delivery thread do, timing each
stage; then prints pyinstrument's call tree.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

N = 100


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 else "embedded"
    _setup.setup(config)
    receiver = _setup.CountingReceiver()
    try:
        from django.contrib.auth.models import User
        from django.db import transaction
        from pyinstrument import Profiler

        from automations import dispatch, tasks
        from automations.models import Event
        from projects.models import Project, Run
        from teams.models import Membership, Team
        from tests.support.factories import make_automation, make_webhook

        user = User.objects.create_user("bench")
        team = Team.objects.create(slug="bench", name="Bench")
        Membership.objects.create(team=team, user=user, role="member")
        project = Project.objects.create(team=team, name="main")
        hook = make_webhook(team, receiver.url("/hook"), name="hook")
        make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
        with transaction.atomic():
            for n in range(N):
                Run.start(project, author=user, run_id=f"r{n}").set_state("failed", user)
        events = list(Event.objects.filter(type="RUN_STATE").values_list("pk", flat=True))
        profiler = Profiler(interval=0.0005)
        profiler.start()
        started = time.perf_counter()
        for pk in events:
            tasks.process_event(pk)
        processed = time.perf_counter()
        # As a delivery thread does: claims of the destination's due executions.
        while (claim := dispatch.claim_batch(hook.pk)) is not None:
            dispatch.deliver_claim(claim, hook.pk)
        delivered = time.perf_counter()
        profiler.stop()
        assert len(receiver.ids) == N, len(receiver.ids)
        print(f"# {config}: {N} events processed in {processed - started:.3f}s "
              f"({(processed - started) / N * 1e3:.2f} ms each), {N} deliveries in "
              f"{delivered - processed:.3f}s ({(delivered - processed) / N * 1e3:.2f} ms each)")
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    finally:
        receiver.stop()
        _setup.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
