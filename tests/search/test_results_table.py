"""results.csv: one row per trial, read back for resuming, safe under concurrent appends."""

from __future__ import annotations

import csv
import multiprocessing
from pathlib import Path

import pytest

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.results import ResultsTable, TrialResult, best_trial, result_from_row

KEYS = ("model.network.layer_widths", "model.optimizer.lr")


def trial(number: int, widths: list, lr: float, losses: tuple[float, ...]) -> TrialResult:
    return TrialResult(
        trial=number,
        params={KEYS[0]: widths, KEYS[1]: lr},
        status="complete",
        loss=sum(losses) / len(losses),
        losses=losses,
        band_energy_mae=sum(losses) / len(losses),
        wall_seconds=1.25,
        seeds=tuple(42 + i for i in range(len(losses))),
    )


def test_rows_hold_override_values_and_read_back(tmp_path: Path) -> None:
    table = ResultsTable(tmp_path / "results.csv", KEYS)
    first = trial(0, [None, 32, None], 1e-3, (120.5, 130.5))
    table.append(first)
    table.append(TrialResult(1, {KEYS[0]: [None, 64, None], KEYS[1]: 1e-2}, "pruned", score=-3.5))
    with (tmp_path / "results.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0][KEYS[0]] == "[null,32,null]"
    assert rows[0]["loss"] == "125.5"
    assert rows[0]["loss_per_seed"] == "120.5;130.5"
    assert rows[0]["seeds"] == "42;43"
    assert (rows[1]["status"], rows[1]["pruned"], rows[1]["loss"]) == ("pruned", "true", "")
    back = result_from_row(table.finished_row(0, first.params), KEYS, first.params)
    assert back == first
    assert best_trial([back, trial(2, [None, 8, None], 1e-3, (99.0,))]).trial == 2


def test_a_rerun_skips_finished_trials_but_not_failed_ones(tmp_path: Path) -> None:
    table = ResultsTable(tmp_path / "results.csv", KEYS)
    params = {KEYS[0]: [None, 32, None], KEYS[1]: 1e-3}
    table.append(TrialResult(0, params, "failed"))
    assert table.finished_row(0, params) is None
    table.append(trial(0, [None, 32, None], 1e-3, (50.0,)))
    reopened = ResultsTable(tmp_path / "results.csv", KEYS)
    assert reopened.finished_row(0, params)["loss"] == "50.0"
    with pytest.raises(InputError, match="results.csv: trial 0 was run with other hyperparameters"):
        reopened.finished_row(0, {KEYS[0]: [None, 64, None], KEYS[1]: 1e-3})


def test_a_table_of_another_search_is_refused(tmp_path: Path) -> None:
    ResultsTable(tmp_path / "results.csv", KEYS).append(trial(0, [None, 32, None], 1e-3, (1.0,)))
    with pytest.raises(InputError, match=r"results.csv: columns .* are not this search's"):
        ResultsTable(tmp_path / "results.csv", ("data.batch_size",))


def _append_many(path: Path, start: int) -> None:
    table = ResultsTable(path, KEYS)
    for number in range(start, start + 15):
        table.append(trial(number, [None, 32, None], 1e-3, (float(number),)))


def test_concurrent_workers_lose_no_row(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(path, start)) for start in (0, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert all(worker.exitcode == 0 for worker in workers)
    numbers = sorted(int(row["trial"]) for row in ResultsTable(path, KEYS).rows())
    assert numbers == [*range(15), *range(100, 115)]
