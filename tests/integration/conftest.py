"""Real processes on loopback: a qcluster worker, an HTTP receiver, a fake Slack."""

from __future__ import annotations

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
