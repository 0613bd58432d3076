"""ACSD search: choose the SNAP descriptor hyperparameters Rcut and Jmax without training.

For every point of the sweep over ``descriptor.rcut`` (Angstrom) and ``descriptor.twojmax``
(= 2 Jmax) the descriptors of the training snapshots come from the descriptor cache (LAMMPS
computes each (snapshot, parameters) pair once) and the ACSD (seed Eq. 16-17,
`ldos_surrogate.scores.acsd`) of each training snapshot is computed against its LDOS; a
point's ACSD is the mean over the training snapshots, its uncertainty the standard error of
that mean.

Scaling: both arrays are standardised per column (descriptors per feature, the LDOS per
energy; mean and standard deviation over all grid points of the training snapshots, as
`data.scalers.StandardFit` fits them) before the cosine similarities are taken, so a cosine
compares two grid points' deviations from the average environment and the average LDOS. The
cosine is not shift invariant: unscaled, both kinds of vector are dominated by components
that are large at every grid point (B_000, the mean LDOS), every cosine lies close to 1 and
the ACSD measures small differences of near-parallel vectors; the LDOS scaled as training
scales it ("minmax": its minimum is 0, so the cosines stay those of the unscaled LDOS) against
standardised descriptors mixes the two pictures. Measured on the shipped Al set (5 training
snapshots, 200 points, seed 42, twojmax 4, Rcut 2, 3, 4, 5, 6 A): standardised 0.541, 0.487,
0.471, 0.478, 0.477 (a cutoff below the 2.86 A nearest-neighbour distance clearly worst, the
lowest at 4 A, then flat); unscaled 0.031, 0.076, 0.042, 0.017, 0.020; standardised
descriptors against minmax LDOS 0.78, 0.87, 0.91, 0.94, 0.95, rising with Rcut whatever the
descriptors hold. ``standardize: false`` feeds the arrays as stored (MALA's choice).
Every sweep point uses the same sampled grid points (seed: the config's ``seed`` plus the
snapshot's index), so differences between points are not blurred by different draws.

Choice (the seed paper's rule: lower is better; the largest Rcut and smallest Jmax at the
first ACSD minimum), made precise with a tolerance tau, by default the standard error of the
lowest point (the one-standard-error rule; Hastie, Tibshirani and Friedman, *The Elements of
Statistical Learning*, 2009, Sec. 7.10): points with ACSD <= min + tau are "at the minimum";
Jmax is the smallest among them; along Rcut at that Jmax, the first Rcut at the minimum
starts the first minimum, which extends over the following Rcut values that stay at it;
Rcut is the largest of them (not a later minimum beyond a rise).

The chosen descriptor is then trained once (``repeats`` seeds) with the config's network; it
is written as the config ``descriptor/<search.name>.yaml`` (``python train.py
descriptor=<name>``; in the search folder and the user configs, as the experiment is), and
the trained trial as the experiment. The sweep points are trials 0 ... n-1 (status ``scored``,
score = ACSD, with the ACSD of each training snapshot), the training trial n; the workers of
a search split the points and read each other's ACSD values from the study.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from ldos_surrogate.data.scalers import StandardFit
from ldos_surrogate.descriptors import SnapParams, cached_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import Snapshot, read_snapshot
from ldos_surrogate.scores.acsd import VARIANTS, acsd
from ldos_surrogate.search.checks import require_int
from ldos_surrogate.search.report import acsd_view
from ldos_surrogate.search.results import SearchOutcome, TrialResult, best_trial
from ldos_surrogate.search.runner import TrialRunner, timed

DESCRIPTOR_GROUP = "descriptor"
RCUT_KEY = "descriptor.rcut"
TWOJMAX_KEY = "descriptor.twojmax"


@dataclass
class AcsdSettings:
    """n_points: grid points drawn per snapshot (Eq. 17 over their pairs); variant:
    "two-sided" (Eq. 17) or "mala" (MALA's one-sided form); standardize: scale both arrays
    per column first (module docstring); tolerance: ACSD margin of "at the minimum" (None:
    the standard error of the lowest point)."""

    n_points: int = 200
    variant: str = "two-sided"
    standardize: bool = True
    tolerance: float | None = None

    def check(self, key: str) -> None:
        """InputError naming ``key.<field>`` for a bad value."""
        require_int(self.n_points, f"{key}.n_points", minimum=2)
        if self.variant not in VARIANTS:
            raise InputError(f"{key}.variant: must be one of {VARIANTS}, got {self.variant!r}")
        if not isinstance(self.standardize, bool):
            raise InputError(f"{key}.standardize: must be true or false, got {self.standardize!r}")
        if self.tolerance is not None and not (
            isinstance(self.tolerance, int | float) and self.tolerance >= 0
        ):
            raise InputError(f"{key}.tolerance: must be >= 0 or null, got {self.tolerance!r}")


@dataclass(frozen=True)
class AcsdPoint:
    """ACSD of one descriptor setting on each training snapshot (dimensionless)."""

    rcut: float  # Angstrom
    twojmax: int  # 2 Jmax
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def standard_error(self) -> float:
        """Standard error of the mean over snapshots (0 for a single snapshot)."""
        n = len(self.values)
        return float(np.std(self.values, ddof=1) / math.sqrt(n)) if n > 1 else 0.0


def snapshot_acsd(
    descriptors: Sequence[np.ndarray],
    ldos: Sequence[np.ndarray],
    settings: AcsdSettings,
    seed: int,
) -> tuple[float, ...]:
    """ACSD of each snapshot's descriptors against its LDOS (Eq. 17), standardised per
    column over all the given snapshots when ``settings.standardize``; snapshot i draws
    its grid points with seed ``seed + i``.

    ``descriptors[i]`` (nx, ny, nz, n_features) and ``ldos[i]`` (nx, ny, nz, n_energies),
    states/(eV Angstrom^3), lie on the same grid.
    """
    scale_descriptors, scale_ldos = (
        (_standardizer(descriptors), _standardizer(ldos))
        if settings.standardize
        else (_rows, _rows)
    )
    return tuple(
        acsd(
            scale_descriptors(features),
            scale_ldos(targets),
            settings.n_points,
            seed + index,
            settings.variant,
        ).value
        for index, (features, targets) in enumerate(zip(descriptors, ldos, strict=True))
    )


def select_descriptor(
    points: Sequence[AcsdPoint], tolerance: float | None = None
) -> tuple[AcsdPoint, float]:
    """The chosen point by the rule of the module docstring, and the tolerance used."""
    lowest = min(points, key=lambda point: point.mean)
    margin = lowest.standard_error if tolerance is None else tolerance
    at_minimum = {
        (point.rcut, point.twojmax) for point in points if point.mean <= lowest.mean + margin
    }
    twojmax = min(j for _, j in at_minimum)
    along_rcut = sorted((p for p in points if p.twojmax == twojmax), key=lambda p: p.rcut)
    first = next(i for i, p in enumerate(along_rcut) if (p.rcut, twojmax) in at_minimum)
    last = first
    while last + 1 < len(along_rcut) and (along_rcut[last + 1].rcut, twojmax) in at_minimum:
        last += 1
    return along_rcut[last], margin


def run_acsd(runner: TrialRunner, settings: AcsdSettings, key: str) -> SearchOutcome:
    """The ACSD search over the runner's space (module docstring); ``key`` names the
    sweeper settings in error messages."""
    settings.check(key)
    params_key = f"{key}.params"
    others = sorted(set(runner.space.keys) - {RCUT_KEY, TWOJMAX_KEY})
    if others:
        raise InputError(
            f"{params_key}: the ACSD search sweeps only {RCUT_KEY} and {TWOJMAX_KEY}, not {others}"
        )
    snapshots = _training_snapshots(runner)
    ldos = [snapshot.ldos_memmap() for snapshot in snapshots]
    cache_dir = runner.current_value("data.cache_dir")
    seed = runner.seeds[0]

    def acsd_of(params: dict) -> tuple[float, ...]:
        descriptor = _descriptor_params(runner, params)
        features = [cached_descriptors(s, descriptor, cache_dir) for s in snapshots]
        return snapshot_acsd(features, ldos, settings, seed)

    def score(number: int, params: dict) -> TrialResult:
        values, seconds = timed(acsd_of, params)
        mean = float(np.mean(values))
        return TrialResult(
            number,
            params,
            "scored",
            score=mean,
            wall_seconds=seconds,
            seeds=(seed,),
            score_parts=values,
        )

    sweep = list(enumerate(runner.space.grid(params_key)))
    runner.progress.plan(len(sweep) + 1, scored=len(sweep))
    results = runner.planned(sweep, lambda batch: [score(*trial) for trial in batch])
    points = [AcsdPoint(r.params[RCUT_KEY], r.params[TWOJMAX_KEY], r.score_parts) for r in results]

    chosen, tolerance = select_descriptor(points, settings.tolerance)
    chosen_params = results[points.index(chosen)].params
    (trained,) = runner.train([(len(points), chosen_params)], {len(points): chosen.mean})
    notes = [
        *_acsd_table(points),
        f"ACSD ({settings.variant}, {'standardised' if settings.standardize else 'unscaled'}, "
        f"{settings.n_points} points, mean over {len(snapshots)} training snapshots): "
        f"chosen rcut = {chosen.rcut:g} A, twojmax = {chosen.twojmax} (ACSD {chosen.mean:.4f}; "
        f"'at the minimum' within {tolerance:.4f} of the lowest)",
    ]
    return SearchOutcome(
        [*results, trained],
        best_trial([trained]),
        notes,
        view=acsd_view(points, chosen),
        configs={DESCRIPTOR_GROUP: _descriptor_config(runner, chosen_params, chosen, settings)},
    )


def _rows(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).reshape(-1, array.shape[-1])


def _standardizer(arrays: Sequence[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """(x - mean) / std per column, fitted over the grid points of all ``arrays``."""
    fit = StandardFit()
    for array in arrays:
        fit.update(_rows(array))
    scaler = fit.scaler()
    shift, scale = scaler.shift.numpy(), scaler.scale.numpy()
    return lambda array: ((_rows(array) - shift) / scale).astype(np.float32)


def _training_snapshots(runner: TrialRunner) -> list[Snapshot]:
    dataset_dir = Path(runner.current_value("data.dataset_dir"))
    names = runner.current_value("data.train") or []
    if not names:
        raise InputError("data.train: the ACSD search needs training snapshots")
    return [read_snapshot(dataset_dir / name) for name in names]


def _descriptor_params(runner: TrialRunner, params: dict) -> SnapParams:
    """The descriptor parameters a trial with ``params`` trains with."""
    node = runner.compose(params).data.descriptor_params
    return SnapParams.from_dict(OmegaConf.to_container(node, resolve=True))


def _descriptor_config(
    runner: TrialRunner, params: dict, chosen: AcsdPoint, settings: AcsdSettings
) -> str:
    """The ``descriptor`` config of the chosen point, with a comment saying how it was chosen."""
    descriptor = runner.compose(params).descriptor
    header = (
        f"# SNAP descriptors chosen by ACSD = {chosen.mean:.6g} "
        f"({settings.variant}, {'standardised' if settings.standardize else 'unscaled'} "
        f"arrays, {settings.n_points} points per training snapshot).\n"
    )
    return header + OmegaConf.to_yaml(descriptor, resolve=True)


def _acsd_table(points: Sequence[AcsdPoint]) -> list[str]:
    """ACSD mean +- standard error, one line per Rcut, one column per twojmax."""
    rcuts = sorted({p.rcut for p in points})
    twojmaxes = sorted({p.twojmax for p in points})
    by_key = {(p.rcut, p.twojmax): p for p in points}
    lines = [
        "ACSD (mean +- standard error over snapshots; lower is better)",
        "rcut A  " + "".join(f"{'twojmax ' + str(j):>20}" for j in twojmaxes),
    ]
    for rcut in rcuts:
        cells = [
            f"{by_key[rcut, j].mean:.4f} +- {by_key[rcut, j].standard_error:.4f}"
            if (rcut, j) in by_key
            else "-"
            for j in twojmaxes
        ]
        lines.append(f"{rcut:<8g}" + "".join(f"{cell:>20}" for cell in cells))
    return lines
