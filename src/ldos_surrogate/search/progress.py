"""Progress of a search as a person follows it: one line per finished trial.

``[al_tpe] trial 3 of 12 (#2 complete, loss 41.2): elapsed 1 min 05 s, about 3 min 20 s left``

Every method plans its trials (`Progress.plan`): how many in all, and how many of them are
training-free scores (NASWOT, ACSD), which take a fraction of a second where a training takes
seconds to minutes. The estimate of the rest is, for each of the two kinds, the trials still
planned times the mean wall time of that kind's trials finished so far by this worker; while a
kind has none yet, the rest is not estimated. Trials read back from the study (a resumed search,
or other workers) count as done. With several jobs at once (a parallel launcher) the
wall times add up, so the estimate is an upper bound.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable
from typing import TextIO

from ldos_surrogate.search.results import TrialResult

SCORED = "scored"
TRAINED = "trained"


class Progress:
    """Counts the trials of one search and prints a line for each one this worker finishes.

    Args:
        name: ``search.name``, shown on every line.
        stream: where the lines go (standard output by default).
    """

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.stream = stream or sys.stdout
        self.started = time.perf_counter()
        self.planned = {SCORED: 0, TRAINED: 0}
        self.done: dict[int, str] = {}  # trial number -> kind
        self.seconds: dict[str, list[float]] = {SCORED: [], TRAINED: []}
        self.waited_for = 0  # how many trials the last waiting line named

    @property
    def total(self) -> int:
        return self.planned[SCORED] + self.planned[TRAINED]

    def plan(self, total: int, scored: int | None = None) -> None:
        """The search runs ``total`` trials, ``scored`` of them training-free scores (None:
        as planned before). A method that learns of more trials on the way (OAT's chosen
        combination, Optuna's retries of failed trials) plans again."""
        scored = self.planned[SCORED] if scored is None else scored
        self.planned = {SCORED: scored, TRAINED: total - scored}

    def seen(self, results: Iterable[TrialResult]) -> None:
        """Trials finished elsewhere (read back from the study) count as done."""
        for result in results:
            self.done.setdefault(result.trial, _kind(result))

    def finished(self, result: TrialResult) -> str:
        """Count a trial this worker finished, print its line and return it."""
        kind = _kind(result)
        self.done[result.trial] = kind
        self.seconds[kind].append(result.wall_seconds)
        elapsed = time.perf_counter() - self.started
        line = (
            f"[{self.name}] trial {len(self.done)} of {max(self.total, len(self.done))} "
            f"(#{result.trial} {_outcome(result)}): elapsed {duration(elapsed)}, "
            f"{self._rest()}"
        )
        print(line, file=self.stream, flush=True)
        return line

    def waiting(self, trials: int) -> None:
        """Say that this worker waits for ``trials`` trials that other workers run (once, until
        that number changes)."""
        if trials != self.waited_for:
            line = f"[{self.name}] waiting for {trials} trials run by other workers"
            print(line, file=self.stream, flush=True)
        self.waited_for = trials

    def _rest(self) -> str:
        """The estimate of the time left (module docstring)."""
        left = {
            kind: max(self.planned[kind] - sum(k == kind for k in self.done.values()), 0)
            for kind in self.planned
        }
        if not any(left.values()):
            return "done"
        unknown = [kind for kind, n in left.items() if n and not self.seconds[kind]]
        if unknown:
            return f"{sum(left.values())} left (no estimate until a {unknown[0]} trial finishes)"
        seconds = sum(
            n * math.fsum(self.seconds[kind]) / len(self.seconds[kind])
            for kind, n in left.items()
            if n
        )
        return f"about {duration(seconds)} left"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _kind(result: TrialResult) -> str:
    return SCORED if result.status == "scored" else TRAINED


def _outcome(result: TrialResult) -> str:
    parts = [result.status]
    if result.score is not None:
        parts.append(f"score {result.score:.4g}")
    if result.loss is not None:
        parts.append(f"loss {result.loss:.4g}")
    return ", ".join(parts)
