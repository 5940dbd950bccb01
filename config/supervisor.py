"""A small process supervisor for ``manage.py serve``: start services, restart the
ones that crash, and stop every process they started.

Each service runs in a process group of its own (its own session), so stopping it
reaches the children it forked (gunicorn's workers, django-q2's worker
processes) and a Ctrl-C in the terminal reaches only the supervisor, which then
stops everything in order:

1. SIGTERM to each service's leader (gunicorn finishes in-flight requests,
   django-q2 stops taking tasks);
2. after ``grace`` seconds, SIGKILL to each whole process group;
3. only when no process of any group is left, the caller prints that it stopped.

A service that exits while the supervisor is not stopping is restarted after a
short backoff (1 s, doubling up to 30 s, reset after a minute of running); after
``max_quick_failures`` failures in a row, each within ``quick`` seconds of its
start, the supervisor gives up (a configuration error would only loop).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("beacon.serve")

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the supervisor dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Service:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    next_start: float = 0.0
    quick_failures: int = 0
    restarts: int = 0
    pgids: set[int] = field(default_factory=set)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Supervisor:
    def __init__(
        self,
        services: Sequence[Service],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        grace: float = 10.0,
        quick: float = 10.0,
        max_quick_failures: int = 5,
        max_backoff: float = 30.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.services = list(services)
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.grace = grace
        self.quick = quick
        self.max_quick_failures = max_quick_failures
        self.max_backoff = max_backoff
        self.say = say
        self.stopping = False
        self.forced = False
        self.failed: str | None = None

    # -- signals -------------------------------------------------------------
    def request_stop(self, *_: object) -> None:
        """First SIGINT/SIGTERM: stop gracefully; a second one: kill at once."""
        if self.stopping:
            self.forced = True
        self.stopping = True

    # -- lifecycle -----------------------------------------------------------
    def start(self, service: Service) -> None:
        service.process = subprocess.Popen(
            list(service.argv),
            cwd=self.cwd,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        service.started_at = time.monotonic()
        service.pgids.add(service.process.pid)
        logger.info("%s started (pid %s)", service.name, service.process.pid)

    def _reap(self, service: Service) -> None:
        """The leader exited on its own: clear what it left behind, plan a restart."""
        assert service.process is not None
        code = service.process.returncode
        ran = time.monotonic() - service.started_at
        self._kill_groups(service)
        service.process = None
        if ran < self.quick:
            service.quick_failures += 1
        elif ran > 60:
            service.quick_failures = 0
        if service.quick_failures >= self.max_quick_failures:
            self.failed = (
                f"{service.name} exited {service.quick_failures} times in a row within "
                f"{self.quick:.0f} s of starting (last exit code {code}); giving up."
            )
            logger.error("%s", self.failed)
            self.stopping = True
            return
        delay = min(self.max_backoff, 2.0 ** max(0, service.quick_failures - 1))
        service.next_start = time.monotonic() + delay
        service.restarts += 1
        logger.warning(
            "%s exited with code %s after %.1f s; restarting in %.0f s",
            service.name, code, ran, delay,
        )

    def _kill_groups(self, service: Service, timeout: float = 10.0) -> None:
        for pgid in service.pgids:
            _signal_group(pgid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        for pgid in list(service.pgids):
            while group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not group_members(pgid):
                service.pgids.discard(pgid)

    def run(self, poll: float = 0.2) -> int:
        """Supervise until asked to stop; returns the exit code for the command."""
        for service in self.services:
            self.start(service)
        try:
            while not self.stopping:
                now = time.monotonic()
                for service in self.services:
                    if service.process is None:
                        if now >= service.next_start and not self.stopping:
                            self.start(service)
                    elif service.process.poll() is not None:
                        self._reap(service)
                time.sleep(poll)
        finally:
            self.shutdown()
        return 1 if self.failed else 0

    def shutdown(self) -> None:
        for service in self.services:
            if service.running:
                assert service.process is not None
                try:
                    service.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + self.grace
        while (
            not self.forced
            and time.monotonic() < deadline
            and any(s.running for s in self.services)
        ):
            time.sleep(0.1)
        for service in self.services:
            still = service.running
            self._kill_groups(service)
            if service.process is not None:
                service.process.wait()
                if still:
                    logger.warning("%s did not stop within %.0f s: killed", service.name,
                                   self.grace)
