"""ACSD search logic: the selection rule on known numbers, and the ACSD of a small Rcut sweep on
the shipped Al set (descriptors computed once through the cache)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ldos_surrogate.descriptors import SnapParams, cached_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import read_snapshot
from ldos_surrogate.scores.acsd import acsd
from ldos_surrogate.search.acsd_search import (
    AcsdPoint,
    AcsdSettings,
    select_descriptor,
    snapshot_acsd,
)

AL_SET = Path(__file__).resolve().parents[2] / "data" / "al_fcc_298K"
TRAINING = [f"snapshot_000{i}" for i in range(5)]  # conf/data/al_fcc_298K.yaml's train split
SEED = 42  # train.yaml's seed


def grid(means: dict[tuple[float, int], float]) -> list[AcsdPoint]:
    """Points with one snapshot each (standard error 0)."""
    return [AcsdPoint(rcut, twojmax, (mean,)) for (rcut, twojmax), mean in means.items()]


def test_the_lowest_point_wins_when_nothing_else_is_within_tolerance() -> None:
    points = grid({(3.0, 2): 0.60, (4.0, 2): 0.55, (3.0, 4): 0.50, (4.0, 4): 0.45})
    chosen, tolerance = select_descriptor(points)
    assert (chosen.rcut, chosen.twojmax, tolerance) == (4.0, 4, 0.0)


def test_smallest_twojmax_then_largest_rcut_of_the_first_minimum() -> None:
    # ACSD along rcut at twojmax 4: falls, stays at the minimum over 4 and 5 A, rises, and
    # dips again at 7 A (a later minimum); twojmax 6 is lower still, but within tolerance
    points = grid(
        {
            (3.0, 4): 0.52,
            (4.0, 4): 0.455,
            (5.0, 4): 0.458,
            (6.0, 4): 0.49,
            (7.0, 4): 0.452,
            (3.0, 6): 0.51,
            (4.0, 6): 0.450,
            (5.0, 6): 0.47,
            (6.0, 6): 0.48,
            (7.0, 6): 0.50,
        }
    )
    chosen, _ = select_descriptor(points, tolerance=0.01)
    assert (chosen.rcut, chosen.twojmax) == (5.0, 4)
    # without tolerance only the lowest point is at the minimum
    chosen, _ = select_descriptor(points, tolerance=0.0)
    assert (chosen.rcut, chosen.twojmax) == (4.0, 6)


def test_default_tolerance_is_the_standard_error_of_the_lowest_point() -> None:
    lowest = AcsdPoint(5.0, 6, (0.40, 0.44, 0.42, 0.46))  # mean 0.43, SE 0.0129
    assert lowest.standard_error == pytest.approx(np.std(lowest.values, ddof=1) / 2)
    close = AcsdPoint(4.0, 4, (0.43, 0.45, 0.43, 0.45))  # mean 0.44: within one SE
    far = AcsdPoint(4.0, 2, (0.46, 0.46, 0.46, 0.46))  # mean 0.46: not
    chosen, tolerance = select_descriptor([lowest, close, far])
    assert tolerance == pytest.approx(lowest.standard_error)
    assert chosen is close


def test_bad_settings_are_named() -> None:
    with pytest.raises(InputError, match="hydra.sweeper.n_points"):
        AcsdSettings(n_points=1).check("hydra.sweeper")
    with pytest.raises(InputError, match="hydra.sweeper.variant"):
        AcsdSettings(variant="one-sided").check("hydra.sweeper")
    with pytest.raises(InputError, match="hydra.sweeper.tolerance"):
        AcsdSettings(tolerance=-0.1).check("hydra.sweeper")


@pytest.fixture(scope="module")
def al_training(tmp_path_factory: pytest.TempPathFactory):
    if not AL_SET.exists():
        pytest.skip(f"shipped Al data set missing: {AL_SET}")
    snapshots = [read_snapshot(AL_SET / name) for name in TRAINING]
    cache = tmp_path_factory.mktemp("descriptor_cache")
    descriptors = {
        rcut: [cached_descriptors(s, SnapParams(rcut, 4), cache) for s in snapshots]
        for rcut in (2.0, 3.0, 4.0)
    }
    return snapshots, descriptors


def test_acsd_of_standardised_al_arrays_and_the_chosen_cutoff(al_training) -> None:
    snapshots, descriptors = al_training
    ldos = [s.ldos_memmap() for s in snapshots]
    points = [
        AcsdPoint(rcut, 4, snapshot_acsd(features, ldos, AcsdSettings(), SEED))
        for rcut, features in descriptors.items()
    ]

    # the values are Eq. 17 of arrays standardised per column over all training grid points
    def standardised(arrays):
        rows = [np.asarray(a, dtype=np.float64).reshape(-1, a.shape[-1]) for a in arrays]
        stacked = np.concatenate(rows)
        mean, std = stacked.mean(axis=0), stacked.std(axis=0)
        return [(r - mean) / np.where(std > 0, std, 1.0) for r in rows]

    for point, features in zip(points, descriptors.values(), strict=True):
        reference = [
            acsd(b, d, 200, SEED + i).value
            for i, (b, d) in enumerate(zip(standardised(features), standardised(ldos), strict=True))
        ]
        assert point.values == pytest.approx(reference, rel=1e-5)
        assert all(0.3 < value < 0.7 for value in point.values)

    # a 2 A cutoff, below fcc Al's 2.86 A nearest-neighbour distance, sees too little of the
    # environment: its ACSD is higher than at 4 A on every training snapshot (same pairs)
    short, _, long = points
    assert all(a > b for a, b in zip(short.values, long.values, strict=True))
    chosen, _ = select_descriptor(points)
    assert (chosen.rcut, chosen.twojmax) == (4.0, 4)
