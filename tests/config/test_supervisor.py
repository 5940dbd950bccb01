"""config.supervisor with small real processes: a child that ignores SIGTERM and a
grandchild left behind are killed after the grace period; a service that keeps
failing at start is given up on instead of looping forever."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from config.supervisor import Service, Supervisor, group_members
from tests.support.beacon_process import wait_for

# Ignores SIGTERM, and forks a grandchild (that ignores it too) before sleeping.
STUBBORN = (
    "import os, signal, time, sys\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "if os.fork() == 0:\n"
    "    time.sleep(600)\n"
    "    sys.exit(0)\n"
    "print('up', flush=True)\n"
    "time.sleep(600)\n"
)


def test_stop_kills_what_ignores_sigterm_and_its_children(tmp_path: Path) -> None:
    service = Service("stubborn", [sys.executable, "-c", STUBBORN])
    supervisor = Supervisor([service], cwd=tmp_path, grace=1.0, say=lambda _: None)
    runner = threading.Thread(target=supervisor.run, kwargs={"poll": 0.05})
    runner.start()
    wait_for(lambda: service.process is not None
             and len(group_members(service.process.pid)) == 2, 30, "both processes")
    pgid = service.process.pid  # type: ignore[union-attr]

    asked = time.monotonic()
    supervisor.request_stop()
    runner.join(timeout=30)

    assert not runner.is_alive()
    assert group_members(pgid) == []
    assert 1.0 <= time.monotonic() - asked < 15


def test_a_crashed_service_is_restarted(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    code = f"open({str(marker)!r}, 'a').write('x'); import time; time.sleep(0.2)"
    service = Service("flaky", [sys.executable, "-c", code])
    supervisor = Supervisor([service], cwd=tmp_path, quick=0.0, say=lambda _: None)
    runner = threading.Thread(target=supervisor.run, kwargs={"poll": 0.05})
    runner.start()
    try:
        wait_for(lambda: marker.exists() and len(marker.read_text()) >= 3, 30, "3 starts")
    finally:
        supervisor.request_stop()
        runner.join(timeout=30)
    assert service.restarts >= 2 and supervisor.failed is None


def test_a_service_that_keeps_failing_at_start_is_given_up(tmp_path: Path) -> None:
    service = Service("broken", [sys.executable, "-c", "raise SystemExit(3)"])
    supervisor = Supervisor([service], cwd=tmp_path, max_quick_failures=2,
                            say=lambda _: None)

    code = supervisor.run(poll=0.05)

    assert code == 1
    assert supervisor.failed is not None
    assert "broken exited 2 times in a row" in supervisor.failed
    assert "last exit code 3" in supervisor.failed


def test_group_members_sees_a_live_group_and_not_a_finished_one() -> None:
    assert os.getpid() in group_members(os.getpgid(0))
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)
        os._exit(0)
    os.waitpid(child, 0)
    assert group_members(child) == []
