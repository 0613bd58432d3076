"""``report.png`` of a search: the loss of every trained trial with the best so far, and beside
it the method's own view of its choice.

The views, each a function drawing on one matplotlib Axes (a method puts one into its
`SearchOutcome`): `score_rank_view` (NASWOT S', seed Eq. 14, against its rank, which trials
were trained or pruned), `acsd_view` (ACSD, seed Eq. 17, against Rcut, one line per 2 Jmax,
the chosen point circled) and `oat_view` (OAT range analysis: the mean loss per level of each
factor, the chosen level marked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ldos_surrogate.io.atomic import atomic_path  # noqa: E402
from ldos_surrogate.search.results import TrialResult  # noqa: E402
from ldos_surrogate.search.space import encode  # noqa: E402

if TYPE_CHECKING:  # the methods import this module
    from ldos_surrogate.search.acsd_search import AcsdPoint
    from ldos_surrogate.search.oat import FactorEffect

REPORT_FILE = "report.png"
View = Callable[[Axes], None]
STATUS_MARKERS = {  # status -> (marker, colour, legend label)
    "scored": (".", "tab:blue", "scored only"),
    "complete": ("o", "tab:green", "trained"),
    "pruned": ("v", "grey", "pruned"),
    "failed": ("x", "tab:red", "failed (no finite loss)"),
}


def write_report(
    path: str | Path,
    results: Sequence[TrialResult],
    metric: str,
    title: str,
    view: View | None = None,
) -> Path:
    """Draw the loss panel (and ``view`` beside it) and save the PNG atomically."""
    figure, panels = plt.subplots(1, 2 if view else 1, figsize=(12 if view else 6.5, 4.5))
    axes = panels[0] if view else panels
    loss_view(axes, results, metric)
    if view:
        view(panels[1])
    figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(Path(path)) as tmp:
        figure.savefig(tmp, format="png", dpi=110)
    plt.close(figure)
    return Path(path)


def loss_view(axes: Axes, results: Sequence[TrialResult], metric: str) -> None:
    """Loss per trained trial (trial number on x) and the best loss so far; failed trials
    (no finite loss) as crosses along the top, pruned ones as marks along the bottom."""
    ordered = sorted(results, key=lambda r: r.trial)
    trained = [r for r in ordered if r.trained]
    if trained:
        trials, losses = [r.trial for r in trained], [r.loss for r in trained]
        axes.plot(trials, losses, "o", color="tab:blue", label="trial")
        best = list(accumulate(losses, min))
        axes.step(trials, best, where="post", color="black", label="best so far")
        if min(losses) > 0:
            axes.set_yscale("log")
    top_edge = axes.get_xaxis_transform()  # x in data units, y in axes units
    untrained = {"failed": 0.97, "pruned": 0.03}  # status -> height in the panel
    for status, height in untrained.items():
        marker, color, label = STATUS_MARKERS[status]
        trials = [r.trial for r in ordered if r.status == status]
        if trials:
            axes.plot(trials, [height] * len(trials), marker, color=color, transform=top_edge)
            axes.plot([], [], marker, color=color, label=label)
    drawn = any(r.trained or r.status in untrained for r in ordered)
    _label(axes, "trial", f"loss: {metric}", integer_x=True, legend="small" if drawn else None)
    if not drawn:
        axes.text(0.5, 0.5, "no trial trained", ha="center", transform=axes.transAxes)


def score_rank_view(results: Sequence[TrialResult]) -> View:
    """NASWOT mean score S' of every scored trial against its rank (1 = highest), marked by
    what became of the trial (only scored, trained, pruned, failed)."""

    def draw(axes: Axes) -> None:
        ranked = sorted((r for r in results if r.score is not None), key=lambda r: -r.score)
        axes.plot(range(1, len(ranked) + 1), [r.score for r in ranked], "-", color="lightgrey")
        for status, (marker, color, label) in STATUS_MARKERS.items():
            points = [(rank, r.score) for rank, r in enumerate(ranked, 1) if r.status == status]
            if points:
                ranks, scores = zip(*points, strict=True)
                axes.plot(ranks, scores, marker, color=color, linestyle="none", label=label)
        _label(axes, "rank of the score", "NASWOT mean score S' (higher is better)", True)

    return draw


def acsd_view(points: Sequence[AcsdPoint], chosen: AcsdPoint) -> View:
    """ACSD mean +- standard error against Rcut (Angstrom), one line per 2 Jmax, the chosen
    point circled."""

    def draw(axes: Axes) -> None:
        for twojmax in sorted({p.twojmax for p in points}):
            line = sorted((p for p in points if p.twojmax == twojmax), key=lambda p: p.rcut)
            axes.errorbar(
                [p.rcut for p in line],
                [p.mean for p in line],
                yerr=[p.standard_error for p in line],
                marker="o",
                capsize=3,
                label=f"2 Jmax = {twojmax}",
            )
        axes.plot(
            chosen.rcut,
            chosen.mean,
            "o",
            markersize=14,
            fillstyle="none",
            color="black",
            label=f"chosen (Rcut {chosen.rcut:g} A, 2 Jmax {chosen.twojmax})",
        )
        _label(axes, "Rcut (Angstrom)", "ACSD (lower is better)")

    return draw


def oat_view(effects: Sequence[FactorEffect], levels: Sequence[Sequence[Any]]) -> View:
    """Range analysis: mean loss per level of each factor (``levels``: each factor's values),
    the chosen level circled, importance in the legend."""

    def draw(axes: Axes) -> None:
        for effect, values in zip(effects, levels, strict=True):
            positions = range(len(effect.level_means))
            (line,) = axes.plot(
                positions,
                effect.level_means,
                "o-",
                label=f"{effect.key} (importance {effect.importance:.3g})",
            )
            best = effect.best_level
            axes.plot(
                best,
                effect.level_means[best],
                "o",
                markersize=13,
                fillstyle="none",
                color=line.get_color(),
            )
            for position, value in zip(positions, values, strict=False):
                axes.annotate(
                    encode(value), (position, effect.level_means[position]), fontsize="x-small"
                )
        _label(axes, "level", "mean loss of the rows at that level", True, "x-small")

    return draw


def _label(
    axes: Axes,
    x_label: str,
    y_label: str,
    integer_x: bool = False,
    legend: str | None = "small",
) -> None:
    """Axis labels, a light grid and the legend (``legend``: its font size; None: none)."""
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    if integer_x:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, which="both", alpha=0.3)
    if legend:
        axes.legend(fontsize=legend)
