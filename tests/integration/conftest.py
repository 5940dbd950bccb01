"""Real processes on loopback: a qcluster worker, an HTTP receiver, a fake Slack."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.fake_slack import FakeSlack
from tests.support.qcluster import QCluster, running_qcluster
from tests.support.receiver import Receiver


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture(scope="module")
def cluster(django_db_setup: Any, fake_slack: FakeSlack) -> Iterator[QCluster]:
    """One worker for the module, reaching this run's test database and queue."""
    with running_qcluster(
        env={"SLACK_API_URL": fake_slack.api_url, "BEACON_RETRY_SCHEDULE": "0,1,1"}
    ) as worker:
        yield worker


@pytest.fixture
def live(cluster: QCluster, receiver: Receiver, fake_slack: FakeSlack,
         transactional_db: Any) -> Iterator[QCluster]:
    """The worker, with the receivers emptied for this test."""
    receiver.requests.clear()
    receiver.responses.clear()
    fake_slack.requests.clear()
    yield cluster


def wait_until_quiet(timeout: float = 30.0) -> None:
    """Until every event is processed and no execution is pending (bounded polling)."""
    from automations.models import Event, Execution

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = (
            Event.objects.filter(processed_at__isnull=True).exists()
            or Execution.objects.filter(status=Execution.Status.PENDING).exists()
        )
        if not busy:
            return
        time.sleep(0.1)
    raise AssertionError(f"the worker did not finish within {timeout}s")
