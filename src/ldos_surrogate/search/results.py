"""The results of a search: `TrialResult` (one trial), ``results.csv`` and the printed summary.

The trials live in the search's Optuna study (`ldos_surrogate.search.study`); ``results.csv`` is
its export, written when a worker ends its search, one row per trial: ``trial`` (number within
the search), ``status`` (complete, pruned, scored, failed), one column per search dimension
(values in override syntax, e.g. ``[null,32,null]``), the training-free ``score`` of the method
(NASWOT S', ACSD; empty when it has none), ``loss`` (the mean over seeds of the config's
``optimized_metric``), ``loss_per_seed``, ``band_energy_mae_mev_per_atom`` (the mean validation
band-energy error over seeds, meV/atom, seed Eq. 12), ``wall_seconds``, ``seeds`` and ``pruned``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    spent on this trial (scoring and training, all seeds); score_parts: what the score is the
    mean of, where the method keeps it (ACSD per training snapshot).
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
    score_parts: tuple[float, ...] = ()

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


def write_results(path: str | Path, results: Sequence[TrialResult], keys: Sequence[str]) -> None:
    """Write ``results.csv`` (module docstring) atomically, one row per result in trial order."""
    buffer = io.StringIO()
    columns = (*FIXED_COLUMNS_BEFORE, *keys, *FIXED_COLUMNS_AFTER)
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.row(keys) for result in sorted(results, key=lambda r: r.trial))
    atomic_write_text(Path(path), buffer.getvalue())


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


def _short(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
