"""The results table of a search: ``results.csv``, one row per trial, and its printed summary.

Columns: ``trial`` (number within the search), ``status`` (complete, pruned, scored, failed),
one column per search dimension (values in override syntax, e.g. ``[null,32,null]``), the
training-free ``score`` of the method (NASWOT S', ACSD; empty when it has none), ``loss``
(the mean over seeds of the config's ``optimized_metric``), ``loss_per_seed``, ``band_energy_mae_mev_per_atom``
(the mean validation band-energy error over seeds, meV/atom, seed Eq. 12), ``wall_seconds``,
``seeds`` and ``pruned``.

Rows are appended by rewriting the whole file atomically under an exclusive lock, so a killed
search leaves a complete table and several workers of one study can share it.
"""

from __future__ import annotations

import csv
import fcntl
import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_write_text
from ldos_surrogate.search.space import encode

RESULTS_FILE = "results.csv"
BAND_ENERGY_METRIC = "val/band_energy_mae_mev_per_atom"
STATUSES = ("complete", "pruned", "scored", "failed")
FIXED_COLUMNS_BEFORE = ("trial", "status")
FIXED_COLUMNS_AFTER = (
    "score",
    "loss",
    "loss_per_seed",
    "band_energy_mae_mev_per_atom",
    "wall_seconds",
    "seeds",
    "pruned",
)


@dataclass
class TrialResult:
    """One trial: hyperparameters (config key -> value), what it scored and cost.

    loss: mean over seeds of the optimised metric (None when not trained);
    losses: that metric per seed; band_energy_mae: mean validation band-energy error over
    seeds, meV/atom; score: training-free score (None when not scored); wall_seconds: time
    spent on this trial (scoring and training, all seeds).
    """

    trial: int
    params: dict[str, Any]
    status: str
    loss: float | None = None
    losses: tuple[float, ...] = ()
    band_energy_mae: float | None = None
    score: float | None = None
    wall_seconds: float = 0.0
    seeds: tuple[int, ...] = ()

    @property
    def trained(self) -> bool:
        return self.status == "complete" and self.loss is not None

    def row(self, keys: Sequence[str]) -> dict[str, str]:
        """The CSV row: dimension values in override syntax, numbers in full precision."""
        return {
            "trial": str(self.trial),
            "status": self.status,
            **{key: encode(self.params[key]) for key in keys},
            "score": _number(self.score),
            "loss": _number(self.loss),
            "loss_per_seed": ";".join(_number(value) for value in self.losses),
            "band_energy_mae_mev_per_atom": _number(self.band_energy_mae),
            "wall_seconds": f"{self.wall_seconds:.3f}",
            "seeds": ";".join(str(seed) for seed in self.seeds),
            "pruned": str(self.status == "pruned").lower(),
        }


@dataclass
class SearchOutcome:
    """What a method found: all its trials, the best trained one, lines for the summary, the
    method's panel of ``report.png`` (a function drawing on a matplotlib Axes,
    `ldos_surrogate.search.report`) and config files it chose besides the experiment
    (group -> yaml text, e.g. the ACSD search's ``descriptor``)."""

    results: list[TrialResult]
    best: TrialResult | None
    notes: list[str] = field(default_factory=list)
    view: Callable[[Any], None] | None = None
    configs: dict[str, str] = field(default_factory=dict)


class ResultsTable:
    """``results.csv`` of one search over the dimensions ``keys``.

    An existing file is kept (a re-run resumes); its columns must be this search's, else the
    folder belongs to another search: InputError naming the file.
    """

    def __init__(self, path: str | Path, keys: Sequence[str]) -> None:
        self.path = Path(path)
        self.keys = tuple(keys)
        self.columns = (*FIXED_COLUMNS_BEFORE, *self.keys, *FIXED_COLUMNS_AFTER)
        self.rows()  # checks the columns of an existing file

    def rows(self) -> list[dict[str, str]]:
        """The rows written so far (strings, as in the file)."""
        if not self.path.exists():
            return []
        with self.path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != self.columns:
                raise InputError(
                    f"{self.path}: columns {reader.fieldnames} are not this search's "
                    f"{list(self.columns)}; it belongs to another search: choose another "
                    f"search.name or remove the folder"
                )
            return list(reader)

    def append(self, result: TrialResult) -> None:
        """Add one row; the file is rewritten atomically under an exclusive lock."""
        with self._locked():
            rows = [*self.rows(), result.row(self.keys)]
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_text(self.path, buffer.getvalue())

    def finished_row(
        self,
        trial: int,
        params: Mapping[str, Any],
        rows: Sequence[Mapping[str, str]] | None = None,
    ) -> Mapping[str, str] | None:
        """The first row of ``trial`` that is not ``failed``: the trial finished before (a
        resumed search skips it). ``rows``: this table's rows as read already (None: read).

        A row of that number with other hyperparameters is an InputError: the table
        belongs to a different search.
        """
        for row in self.rows() if rows is None else rows:
            if row["trial"] != str(trial) or row["status"] == "failed":
                continue
            if any(row[key] != encode(params[key]) for key in self.keys):
                raise InputError(
                    f"{self.path}: trial {trial} was run with other hyperparameters; the "
                    f"folder belongs to another search: choose another search.name"
                )
            return row
        return None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def result_from_row(
    row: Mapping[str, str], keys: Sequence[str], params: Mapping[str, Any]
) -> TrialResult:
    """A finished trial read back from its row (``params`` as Python values)."""
    return TrialResult(
        trial=int(row["trial"]),
        params={key: params[key] for key in keys},
        status=row["status"],
        loss=_parse_number(row["loss"]),
        losses=tuple(float(v) for v in row["loss_per_seed"].split(";") if v),
        band_energy_mae=_parse_number(row["band_energy_mae_mev_per_atom"]),
        score=_parse_number(row["score"]),
        wall_seconds=float(row["wall_seconds"]),
        seeds=tuple(int(v) for v in row["seeds"].split(";") if v),
    )


def best_trial(results: Sequence[TrialResult], maximize: bool = False) -> TrialResult | None:
    """The trained trial with the lowest loss (highest with ``maximize``); a loss that is not
    finite (NaN, inf) never wins."""
    trained = [r for r in results if r.trained and math.isfinite(r.loss)]
    if not trained:
        return None
    return (max if maximize else min)(trained, key=lambda r: r.loss)


def summary_table(results: Sequence[TrialResult], keys: Sequence[str], limit: int = 20) -> str:
    """Plain-text table of the trials, best loss first (then best score), at most ``limit``."""

    def order(result: TrialResult) -> tuple[float, float]:
        loss = result.loss if result.loss is not None else math.inf
        score = -result.score if result.score is not None else math.inf
        return (loss, score)

    header = ["trial", "status", *keys, "score", "loss", "band meV/atom", "wall s"]
    lines = [
        [
            str(r.trial),
            r.status,
            *(encode(r.params[key]) for key in keys),
            _short(r.score),
            _short(r.loss),
            _short(r.band_energy_mae),
            f"{r.wall_seconds:.1f}",
        ]
        for r in sorted(results, key=order)[:limit]
    ]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    table = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *lines]
    ]
    if len(results) > limit:
        table.append(f"... {len(results) - limit} more trials in {RESULTS_FILE}")
    return "\n".join(table)


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _parse_number(text: str) -> float | None:
    return float(text) if text else None


def _short(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
