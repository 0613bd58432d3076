"""Claims: how several workers of one search split its trials so that each runs once.

Workers of one search are ``search.py`` processes (on one machine or several sharing a file
system) with the same ``search.name``, hence the same search folder and ``results.csv``. Before
a worker scores or trains a trial it claims it: it writes ``claims/trial_<n>.json`` in the
search folder (its host, process id and a random token) and, while it works on the trial,
refreshes the file's modification time every ``heartbeat_interval`` seconds (the heartbeat).
Other workers leave a trial with a live claim alone and wait for its row in ``results.csv``.

A claim is dead when its worker is: on the same host, when its process id no longer runs (a
re-run after a crash takes its trials back at once); on any host, when its heartbeat is older
than ``grace_period`` seconds (the hosts' clocks must agree to well within it). The next
worker that looks takes a dead claim over and runs the trial again. Claims are taken under an
exclusive lock (``flock`` on ``claims/.lock``; NFS v4 supports it), so two live workers never
hold the same trial; a worker releases its claims once the trials' rows are in ``results.csv``.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_write_text
from ldos_surrogate.search.checks import require_int

CLAIMS_DIR = "claims"
WAIT_POLL_S = 1.0  # how often a worker waiting for other workers' trials looks again


@dataclass
class SharingSettings:
    """How the workers of one search share its trials (every sweeper has these keys).

    n_jobs: trials a worker takes at once and launches as one batch (concurrently under a
        parallel Hydra launcher, one after another under the basic one).
    heartbeat_interval: seconds between a working worker's heartbeats.
    grace_period: seconds without a heartbeat after which a trial's worker counts as dead
        (None: twice the interval).
    """

    n_jobs: int = 1
    heartbeat_interval: int = 60
    grace_period: int | None = None

    @property
    def stale_after(self) -> int:
        """The grace period in effect, seconds."""
        return self.grace_period or 2 * self.heartbeat_interval

    @property
    def poll_interval(self) -> float:
        """Seconds between the looks of a worker waiting for other workers' trials."""
        return min(self.heartbeat_interval, WAIT_POLL_S)

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        require_int(self.n_jobs, f"{key}.n_jobs", minimum=1)
        require_int(self.heartbeat_interval, f"{key}.heartbeat_interval", minimum=1)
        if self.grace_period is not None:
            require_int(self.grace_period, f"{key}.grace_period", minimum=1)
            if self.grace_period <= self.heartbeat_interval:
                raise InputError(
                    f"{key}.grace_period: must exceed heartbeat_interval "
                    f"({self.heartbeat_interval} s), got {self.grace_period}"
                )


def split_sharing(settings: Mapping[str, Any]) -> tuple[SharingSettings, dict[str, Any]]:
    """The `SharingSettings` among a sweeper's ``settings``, and the other settings."""
    names = {field.name for field in fields(SharingSettings)}
    sharing = SharingSettings(**{k: v for k, v in settings.items() if k in names})
    return sharing, {k: v for k, v in settings.items() if k not in names}


class ClaimBoard:
    """The claims of one search folder, as seen by one worker (see the module docstring)."""

    def __init__(self, sweep_dir: Path, settings: SharingSettings) -> None:
        self.directory = Path(sweep_dir) / CLAIMS_DIR
        self.settings = settings
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex}

    def take(self, trials: Sequence[int], limit: int) -> list[int]:
        """Claim up to ``limit`` of ``trials`` (in their order) that hold no live claim of
        another worker; return the numbers claimed."""
        taken: list[int] = []
        with self._locked():
            for number in trials:
                if len(taken) == limit:
                    break
                path = self._path(number)
                if self._held_by_other(path):
                    continue
                atomic_write_text(path, json.dumps(self.owner))
                taken.append(number)
        return taken

    @contextmanager
    def holding(self, trials: Sequence[int]) -> Iterator[None]:
        """Heartbeats for the claimed ``trials`` while the block runs; release them after."""

        def beat() -> None:
            for number in trials:
                path = self._path(number)
                if self._mine(path):
                    os.utime(path)

        try:
            with heartbeat(beat, self.settings.heartbeat_interval):
                yield
        finally:
            self.release(trials)

    def release(self, trials: Sequence[int]) -> None:
        """Remove this worker's claims of ``trials`` (claims taken over by others stay)."""
        with self._locked():
            for number in trials:
                path = self._path(number)
                if self._mine(path):
                    path.unlink()

    def _path(self, number: int) -> Path:
        return self.directory / f"trial_{number:04d}.json"

    def _held_by_other(self, path: Path) -> bool:
        """Whether ``path`` is another worker's live claim."""
        claim = _read_claim(path)
        if claim is None or claim.get("token") == self.owner["token"]:
            return False
        if claim.get("host") == self.owner["host"] and not _process_runs(claim.get("pid")):
            return False
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False
        return age <= self.settings.stale_after

    def _mine(self, path: Path) -> bool:
        claim = _read_claim(path)
        return claim is not None and claim.get("token") == self.owner["token"]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def heartbeat(beat: Callable[[], None], interval: float) -> Iterator[None]:
    """Call ``beat`` now and every ``interval`` seconds (in a thread) while the block runs."""
    stop = threading.Event()

    def beating() -> None:
        beat()
        while not stop.wait(interval):
            beat()

    thread = threading.Thread(target=beating, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _read_claim(path: Path) -> dict | None:
    """The claim in ``path``; None when there is none (claims are written atomically, so an
    unreadable one is not a claim either)."""
    try:
        claim = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return claim if isinstance(claim, dict) else None


def _process_runs(pid: object) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie counts as running until reaped)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
