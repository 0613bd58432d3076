"""The study of a search: where every trial of every method lives, and how workers share it.

Each search keeps all its trials in one Optuna study (`StudySettings`: SQLite, Optuna's journal
file, PostgreSQL), and its workers share the search through that storage alone. A trial holds
the user attributes ``params`` (its hyperparameters), ``result`` (a `TrialResult` without
them, plus the ``worker``) and, for planned trials, ``trial`` (its number in the search);
its value is a training's loss or a training-free score. Planned trials are added as waiting
trials, taken by one worker each, failed by heartbeat and queued again when their worker dies;
of two copies added at once the lower-numbered runs (`SearchStudy`; ``docs/parallel.md``).

The one reach beyond Optuna's documented API is `_immediate_sqlite_transactions` (the RDB
storage's ``engine``); ``tests/search/test_study.py`` checks what the searches rely on.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
from optuna.storages import (
    BaseStorage,
    JournalStorage,
    RDBStorage,
    RetryHeartbeatStaleTrialCallback,
    fail_stale_trials,
)
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import event

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.results import TrialResult
from ldos_surrogate.search.space import Param, encode, signature

log = logging.getLogger(__name__)

STORAGE_FILE = "optuna.db"
JOURNAL = "journal"
JOURNAL_FILE = "optuna.journal"
PLAN, PARAMS, RESULT, DUPLICATE = "trial", "params", "result", "duplicate_of"  # user attributes
WAIT_POLL_S = 1.0  # how often a worker waiting for other workers' trials looks again
# Errors of workers creating the storage's tables at the same moment (SQLite, PostgreSQL):
# the tables exist when the loser tries again.
CONCURRENT_CREATION = ("already exists", "UNIQUE constraint failed", "duplicate key")
STORAGE_ATTEMPTS = 3
SQLITE_BUSY_TIMEOUT_S = 60
TUPLES = ("losses", "seeds", "score_parts")  # TrialResult fields stored as JSON lists
STATES = {  # a result's status -> the state of its study trial
    "complete": TrialState.COMPLETE,
    "scored": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "failed": TrialState.FAIL,
}


@dataclass
class StudySettings:
    """Where a search's study lives and how its workers share it (every sweeper has these keys).

    storage: None: SQLite ``optuna.db`` in the search folder; ``journal`` (``optuna.journal``
        there) or ``journal:<path>``: Optuna's journal file; or an SQLAlchemy URL (PostgreSQL).
    study_name: None: ``search.name``. n_jobs: trials a worker takes at once, launched as one
    batch. heartbeat_interval, grace_period (None: twice the interval): seconds between
    heartbeats, and without one before a running trial is stale. max_retry: how often a stale
    trial is queued again. retry_running: at start, fail and queue again every running trial
    (a storage without heartbeats, when no other worker runs).
    """

    storage: str | None = None
    study_name: str | None = None
    n_jobs: int = 1
    heartbeat_interval: int = 60
    grace_period: int | None = None
    max_retry: int = 3
    retry_running: bool = False

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
        require_int(self.max_retry, f"{key}.max_retry", minimum=0)
        if self.grace_period is not None:
            require_int(self.grace_period, f"{key}.grace_period", minimum=1)
            if self.grace_period <= self.heartbeat_interval:
                raise InputError(
                    f"{key}.grace_period: must exceed heartbeat_interval "
                    f"({self.heartbeat_interval} s), got {self.grace_period}"
                )


def split_settings(settings: Mapping[str, Any]) -> tuple[StudySettings, dict[str, Any]]:
    """The `StudySettings` among a sweeper's ``settings``, and the other settings."""
    names = {field.name for field in fields(StudySettings)}
    study = StudySettings(**{k: v for k, v in settings.items() if k in names})
    return study, {k: v for k, v in settings.items() if k not in names}


def distribution(param: Param) -> BaseDistribution:
    """The Optuna distribution of a search dimension: choice -> categorical (values that are not
    numbers, strings or null, e.g. lists, as their override text), integer range ->
    IntDistribution with its step, other ranges -> categorical, interval -> FloatDistribution
    (IntDistribution for ``int(interval(...))``), ``log`` when tagged."""
    if param.kind == "interval":
        distribution_type = IntDistribution if param.integer else FloatDistribution
        return distribution_type(param.low, param.high, log=param.log)
    if param.kind == "range" and all(isinstance(v, int) for v in param.values):
        step = abs(param.values[1] - param.values[0]) if len(param.values) > 1 else 1
        return IntDistribution(int(param.low), int(param.high), step=step)
    return CategoricalDistribution([optuna_value(value) for value in param.values])


def optuna_value(value: Any) -> Any:
    """Optuna categorical choices are None, bool, int, float or str; others as override text."""
    return value if value is None or isinstance(value, bool | int | float | str) else encode(value)


def decode(param: Param, value: Any) -> Any:
    """The Python value of a dimension from the value Optuna reports."""
    if param.kind == "interval" or (param.kind == "range" and isinstance(value, int)):
        return value
    for choice in param.values:
        if optuna_value(choice) == value:
            return choice
    raise KeyError(f"{param.key}: {value!r} is not among {param.values}")


def search_number(trial: FrozenTrial) -> int:
    """A study trial's number in the search: its plan number, else Optuna's number."""
    return trial.user_attrs.get(PLAN, trial.number)


def trial_result(trial: FrozenTrial) -> TrialResult | None:
    """What a finished trial of the study found; None for a trial that did not end (waiting,
    running, stale, or a duplicate never run)."""
    result = trial.user_attrs.get(RESULT)
    if result is None or not trial.state.is_finished() or DUPLICATE in trial.user_attrs:
        return None
    values = {key: tuple(value) if key in TUPLES else value for key, value in result.items()}
    values.pop("worker", None)
    return TrialResult(trial=search_number(trial), params=trial.user_attrs[PARAMS], **values)


def _dead(trial: FrozenTrial) -> bool:
    """Failed without a result: its worker died (stale), or a duplicate."""
    return trial.state == TrialState.FAIL and trial_result(trial) is None


class SearchStudy:
    """The study of one search over the dimensions ``keys``, as one worker sees it."""

    def __init__(
        self,
        study: optuna.Study,
        storage: BaseStorage,
        settings: StudySettings,
        keys: Sequence[str],
    ) -> None:
        self.study, self.storage, self.settings, self.keys = study, storage, settings, tuple(keys)
        self.name = study.study_name
        self.study_id = storage.get_study_id_from_name(self.name)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.heartbeat = isinstance(storage, RDBStorage)

    def trials(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def sampling(self, sampler: optuna.samplers.BaseSampler) -> optuna.Study:
        """The study as an `optuna.Study` asking ``sampler``."""
        return optuna.load_study(study_name=self.name, storage=self.storage, sampler=sampler)

    def fail_stale(self) -> None:
        """Fail the running trials whose worker died and queue them again (module docstring)."""
        if self.heartbeat:
            with quiet_optuna():
                fail_stale_trials(self.study)

    def results(self, planned: bool | None = None) -> list[TrialResult]:
        """The results of the study's trials (only those planned, or not, when given); a trial
        over other dimensions is an InputError: the study belongs to another search."""
        found = []
        for trial in self.trials():
            result = trial_result(trial)
            if result is None or planned not in (None, PLAN in trial.user_attrs):
                continue
            if set(result.params) != set(self.keys):
                raise self._another_search(
                    trial.number, f"has the dimensions {sorted(result.params)}"
                )
            found.append(result)
        return found

    def plan(
        self, wanted: Mapping[int, dict[str, Any]], dimensions: Sequence[Param]
    ) -> tuple[dict[int, TrialResult], bool]:
        """Fail stale trials, add the planned trials ``wanted`` (search number -> params) that the
        study lacks (none, or only dead copies; ``dimensions`` become Optuna parameters), and
        return the results so far (search number -> result) and whether any is still waiting.
        A planned trial whose copies died more than ``max_retry`` times counts as failed."""
        self.fail_stale()
        copies = self._copies(wanted)
        results, waiting = {}, False
        for number, params in wanted.items():
            if any(_differ(copy.user_attrs[PARAMS], params) for copy in copies[number]):
                raise self._another_search(number, "was planned with other hyperparameters")
            found = [result for result in map(trial_result, copies[number]) if result]
            states = [copy.state for copy in copies[number]]
            waiting = waiting or TrialState.WAITING in states
            if found or TrialState.WAITING in states or TrialState.RUNNING in states:
                results.update({number: found[0]} if found else {})
                continue
            deaths = sum(DUPLICATE not in copy.user_attrs for copy in copies[number])
            if deaths > self.settings.max_retry:
                log.warning("trial %d: its workers died %d times; it failed", number, deaths)
                results[number] = TrialResult(number, params, "failed")
                continue
            waiting = True
            self.study.add_trial(
                optuna.trial.create_trial(
                    state=TrialState.WAITING,
                    params={p.key: optuna_value(params[p.key]) for p in dimensions},
                    distributions={p.key: distribution(p) for p in dimensions},
                    user_attrs={PLAN: number, PARAMS: params},
                )
            )
        return results, waiting

    def take(self, wanted: Mapping[int, Any], limit: int) -> list[FrozenTrial]:
        """Take up to ``limit`` waiting copies of the planned trials ``wanted`` for this worker,
        lowest numbers first; a duplicate (module docstring) is failed, unrun, instead."""
        copies = sorted(
            (c for group in self._copies(wanted).values() for c in group), key=lambda c: c.number
        )
        taken: list[FrozenTrial] = []
        for trial in copies:
            if len(taken) == limit:
                break
            if trial.state != TrialState.WAITING or not self._take(trial.number):
                continue
            number = search_number(trial)
            others = [c for c in self._copies({number: None})[number] if c.number != trial.number]
            first = min((c.number for c in others if not _dead(c)), default=trial.number)
            if first < trial.number:
                self.storage.set_trial_user_attr(self._trial_id(trial.number), DUPLICATE, first)
                self.study.tell(trial.number, state=TrialState.FAIL)
            else:
                taken.append(trial)
        return taken

    def record(self, number: int, result: TrialResult) -> bool:
        """Store ``result`` as the end of trial ``number`` (Optuna's number); False when the trial
        had ended meanwhile (failed as stale by another worker, which runs it again)."""
        values = asdict(result) | {"worker": self.worker}
        del values["trial"], values["params"]
        state = STATES[result.status]
        value = result.loss if result.status == "complete" else result.score
        try:
            self.storage.set_trial_user_attr(self._trial_id(number), RESULT, values)
            self.study.tell(number, value if state == TrialState.COMPLETE else None, state=state)
        except (UpdateFinishedTrialError, ValueError):  # ValueError: "Cannot tell a FAIL trial"
            log.warning("trial %d was failed as stale while this worker ran it", number)
            return False
        return True

    @contextmanager
    def heartbeats(self, numbers: Sequence[int]) -> Iterator[None]:
        """Record the heartbeats of trials ``numbers`` now and every heartbeat interval (in a
        thread) while the block runs (RDB storages)."""
        trial_ids = [self._trial_id(number) for number in numbers] if self.heartbeat else []
        stop = threading.Event()

        def beat() -> None:
            while True:
                for trial_id in trial_ids:
                    self.storage.record_heartbeat(trial_id)
                if stop.wait(self.settings.heartbeat_interval):
                    return

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def retry_running(self) -> None:
        """Fail every running trial and queue it again (``retry_running``)."""
        with quiet_optuna():
            retry = RetryHeartbeatStaleTrialCallback(max_retry=self.settings.max_retry)
            for trial in self.trials():
                if trial.state == TrialState.RUNNING:
                    self.study.tell(trial.number, state=TrialState.FAIL)
                    retry(self.study, self.study.get_trials()[trial.number])

    def _copies(self, wanted: Mapping[int, Any]) -> dict[int, list[FrozenTrial]]:
        """The study's copies of each planned trial of ``wanted``, in Optuna's order."""
        copies: dict[int, list[FrozenTrial]] = {number: [] for number in wanted}
        for trial in self.trials():
            if trial.user_attrs.get(PLAN) in copies:
                copies[trial.user_attrs[PLAN]].append(trial)
        return copies

    def _take(self, number: int) -> bool:
        """Switch waiting trial ``number`` to running for this worker, with its first heartbeat;
        False when another worker took it first."""
        trial_id = self._trial_id(number)
        try:
            taken = self.storage.set_trial_state_values(trial_id, TrialState.RUNNING)
        except UpdateFinishedTrialError:
            return False
        if taken and self.heartbeat:
            self.storage.record_heartbeat(trial_id)
        return taken

    def _trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def _another_search(self, number: int, what: str) -> InputError:
        return InputError(
            f"study {self.name!r}: trial {number} {what}; the study belongs to another search: "
            f"choose another search.name or hydra.sweeper.study_name"
        )


def _differ(stored: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether two trials' hyperparameters differ (compared in override syntax)."""
    return stored.keys() != params.keys() or signature(stored) != signature(params)


def open_study(
    settings: StudySettings,
    sweep_dir: Path,
    default_name: str,
    direction: str,
    keys: Sequence[str],
    key: str,
) -> SearchStudy:
    """Create or load the study of a search (``key`` names the settings); a storage that cannot
    be opened is an InputError."""
    settings.check(key)
    url = settings.storage or f"sqlite:///{sweep_dir / STORAGE_FILE}"
    for attempt in range(1, STORAGE_ATTEMPTS + 1):
        try:
            storage = _storage(url, sweep_dir, settings)
            break
        except Exception as error:  # SQLAlchemy, database driver, file and URL errors alike
            reason = str(error).splitlines()[0]
            if attempt < STORAGE_ATTEMPTS and any(s in reason for s in CONCURRENT_CREATION):
                time.sleep(random.uniform(0.5, 1.5))  # another worker is creating the tables
                continue
            raise InputError(f"{key}.storage: cannot open {url!r}: {reason}") from error
    study = optuna.create_study(
        storage=storage,
        study_name=settings.study_name or default_name,
        direction=direction,
        load_if_exists=True,
    )
    shared = SearchStudy(study, storage, settings, keys)
    if settings.retry_running:
        shared.retry_running()
    return shared


def _storage(url: str, sweep_dir: Path, settings: StudySettings) -> BaseStorage:
    """The storage named by ``url`` (`StudySettings.storage`); RDB storages with heartbeats."""
    if url == JOURNAL or url.startswith(f"{JOURNAL}:"):
        path = url.removeprefix(JOURNAL).removeprefix(":") or str(sweep_dir / JOURNAL_FILE)
        return JournalStorage(JournalFileBackend(path))
    sqlite = url.startswith("sqlite")
    with quiet_optuna():
        storage = RDBStorage(
            url,
            engine_kwargs={"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}} if sqlite else None,
            heartbeat_interval=settings.heartbeat_interval,
            grace_period=settings.stale_after,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(settings.max_retry),
        )
    if sqlite:
        _immediate_sqlite_transactions(storage)
    return storage


def _immediate_sqlite_transactions(storage: RDBStorage) -> None:
    """Make every transaction of an SQLite ``storage`` take the write lock as it begins
    (``BEGIN IMMEDIATE``): Optuna takes a waiting trial by reading its state and writing
    ``RUNNING``, and Python's sqlite3 driver runs that read outside the write transaction, so
    two processes could take one trial (Optuna 5.0: 4 processes, 200 trials, 3 taken twice;
    none with this). SQLAlchemy's recipe for pysqlite ("Serializable isolation / Savepoints /
    Transactional DDL"), on the storage's ``engine``, an attribute Optuna does not document.
    """

    def no_driver_transactions(connection: Any, _: Any) -> None:
        connection.isolation_level = None  # the driver's own BEGIN, deferred, is never sent

    def begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(storage.engine, "connect", no_driver_transactions)
    event.listen(storage.engine, "begin", begin_immediate)
    storage.engine.dispose()  # connections opened so far begin their transactions deferred


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's notes on what this module uses on purpose: the experimental heartbeat
    API, heartbeats outside Study.optimize."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
        yield
