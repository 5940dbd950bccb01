"""The delivery runtime of a worker process: real threads, a mocked network."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

from automations import dispatch
from automations.models import Execution
from automations.runtime import DeliveryRuntime
from projects.models import Project
from teams.models import Integration
from tests.support.factories import fail_run, make_automation, make_webhook
from tests.support.http import response


def wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_sends_run_on_threads_and_a_full_pool_leaves_work_to_the_poller(
    transactional_db: Any, project: Project, member: Any, public_dns: Any, settings: Any
) -> None:
    settings.BEACON_DELIVERY_PER_DESTINATION = 5
    hook: Integration = make_webhook(project.team)
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    [first] = dispatch.process(fail_run(project, member, "r1"))
    [second] = dispatch.process(fail_run(project, member, "r2"))
    gate = threading.Event()

    def post(*args: Any, **kwargs: Any) -> Any:
        gate.wait(30)
        return response(200)

    runtime = DeliveryRuntime(threads=1, poll=3600)  # polled by hand below
    try:
        with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                        side_effect=post):
            assert runtime.offer(first.pk) == "sending"  # returns while the send waits
            assert runtime.offer(second.pk) == "busy"
            assert runtime.poll_once() == 0
            gate.set()
            wait_for(lambda: Execution.objects.get(pk=first.pk).status == "finished")
            wait_for(lambda: runtime.free == 1)
            assert runtime.poll_once() == 1
            wait_for(lambda: Execution.objects.get(pk=second.pk).status == "finished")
    finally:
        runtime.stop()
