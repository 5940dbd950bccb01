"""The delivery runtime of a worker process: real threads, a mocked network."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest import mock

from django.utils import timezone

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


def test_a_thread_goes_on_with_the_next_delivery_due_to_its_destination(
    transactional_db: Any, project: Project, member: Any, public_dns: Any, settings: Any
) -> None:
    settings.BEACON_DELIVERY_PER_DESTINATION = 1
    hook: Integration = make_webhook(project.team)
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    executions = [dispatch.process(fail_run(project, member, f"r{n}"))[0] for n in range(3)]
    gate = threading.Event()
    in_flight: list[int] = []

    def post(*args: Any, **kwargs: Any) -> Any:
        in_flight.append(dispatch.in_flight(hook.pk, timezone.now()))
        gate.wait(30)
        return response(200)

    runtime = DeliveryRuntime(threads=2, poll=3600)  # never polls: the thread goes on
    try:
        with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                        side_effect=post):
            assert runtime.offer(executions[0].pk) == "sending"
            assert runtime.offer(executions[1].pk) == "not claimed"  # the destination is full
            gate.set()
            wait_for(lambda: set(Execution.objects.values_list("status", flat=True))
                     == {"finished"})
    finally:
        runtime.stop()
    assert in_flight == [1, 1, 1]  # one at a time: each claimed after the last was recorded


def test_sends_run_on_threads_and_a_full_pool_leaves_work_to_the_poller(
    transactional_db: Any, project: Project, member: Any, public_dns: Any, settings: Any
) -> None:
    settings.BEACON_DELIVERY_PER_DESTINATION = 5
    hook: Integration = make_webhook(project.team)
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    # Another destination: the thread sending to the first would not go on with it.
    other = Project.objects.create(team=project.team, name="other")
    make_automation(other, make_webhook(project.team, "https://hooks.example.com/other",
                                        name="other"),
                    event_type="RUN_STATE", filter={"states": ["failed"]})
    [first] = dispatch.process(fail_run(project, member, "r1"))
    [second] = dispatch.process(fail_run(other, member, "r2"))
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
