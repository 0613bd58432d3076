"""ACSD: ``ldos_surrogate.scores.acsd`` against MALA 1.4.0's ``ACSDAnalyzer`` in the same run.

Arrays: MALA's Be2 snapshot 0 (18 x 18 x 27 grid, 2 atoms; descriptors without coordinates,
LDOS on 11 energies), and the same arrays tiled 4 x 4 x 8, which is exactly the grid of the
snapshot's 256-atom periodic supercell (72 x 72 x 216 points).

MALA draws its pairs from unseeded generators. Its draws are recorded here (its generators
are replaced by seeded ones that keep what they return), and ``acsd_of_pairs`` scores those
same pairs: equal values, with the float32 arrays (MALA then computes in float32) and with
float64 copies (50 points). Timings: MALA's
``_calculate_acsd`` against ``acsd`` (its one-sided variant on MALA's pair layout, and the
two-sided Eq. 17), best of ``--repeats`` (MALA once on the large grid).

Run: .venv/bin/python benchmarks/acsd_speed.py
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.io.store import EnergyGrid
from ldos_surrogate.scores.acsd import acsd, acsd_of_pairs

BE2 = Path(__file__).resolve().parents[1] / "tests" / "reference" / "mala_be2"
BE2_ENERGY_GRID = EnergyGrid(start_ev=-5.0, spacing_ev=2.5, count=11)


def grids() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Grid rows (n_grid, c) of descriptors and LDOS, float32 as stored."""
    snapshot = read_mala_snapshot(BE2 / "Be_snapshot0", BE2_ENERGY_GRID)
    descriptors, ldos = np.ascontiguousarray(snapshot.descriptors()), snapshot.ldos()
    supercell = (4, 4, 8, 1)
    arrays = {
        "Be2, 18x18x27": (descriptors, np.asarray(ldos)),
        "256-atom supercell, 72x72x216": (
            np.tile(descriptors, supercell),
            np.tile(ldos, supercell),
        ),
    }
    return {name: tuple(a.reshape(-1, a.shape[-1]) for a in pair) for name, pair in arrays.items()}


@contextlib.contextmanager
def recorded_numpy_draws() -> Iterator[list[np.ndarray]]:
    """Replace ``np.random.default_rng`` by seeded generators whose ``choice`` results are kept."""
    draws: list[np.ndarray] = []
    make_generator = np.random.default_rng

    class RecordingGenerator:
        def __init__(self, seed=None) -> None:
            self._generator = make_generator(len(draws))

        def choice(self, *args, **kwargs) -> np.ndarray:
            draws.append(self._generator.choice(*args, **kwargs))
            return draws[-1]

    np.random.default_rng = RecordingGenerator
    try:
        yield draws
    finally:
        np.random.default_rng = make_generator


def mala_acsd(descriptors, ldos, n_points: int) -> tuple[float, np.ndarray, np.ndarray, float]:
    """MALA's ACSD, the pairs it used, and its wall seconds."""
    from mala.network.acsd_analyzer import ACSDAnalyzer

    with recorded_numpy_draws() as draws:
        start = time.perf_counter()
        value = ACSDAnalyzer._calculate_acsd(
            descriptors, ldos, n_points, descriptor_vectors_contain_xyz=False
        )
        seconds = time.perf_counter() - start
    first = np.repeat(draws[0][:n_points], n_points)
    second = np.concatenate([draw[:n_points] for draw in draws[1:]])
    return float(value), first, second, seconds


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of ours (best counts)")
    args = parser.parse_args()

    print(
        "| grid | points | MALA value | rel. diff (float32) | MALA s | ours, mala variant s "
        "| ratio | ours, two-sided s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    exact = []
    for name, (descriptors, ldos) in grids().items():
        for n_points in (100, 200):
            theirs, first, second, mala_seconds = mala_acsd(descriptors, ldos, n_points)
            ours = acsd_of_pairs(descriptors, ldos, first, second, "mala")
            ours_mala = best_seconds(
                lambda d=descriptors, t=ldos, n=n_points: acsd(d, t, n, variant="mala"),
                args.repeats,
            )
            ours_two_sided = best_seconds(
                lambda d=descriptors, t=ldos, n=n_points: acsd(d, t, n), args.repeats
            )
            print(
                f"| {name} | {n_points} | {theirs:.4e} | {abs(ours - theirs) / theirs:.1e} "
                f"| {mala_seconds:.2f} | {ours_mala:.4f} | {mala_seconds / ours_mala:.0f} "
                f"| {ours_two_sided:.4f} |"
            )
        descriptors64, ldos64 = descriptors.astype(np.float64), ldos.astype(np.float64)
        theirs, first, second, _ = mala_acsd(descriptors64, ldos64, 50)
        ours = acsd_of_pairs(descriptors64, ldos64, first, second, "mala")
        exact.append(f"{name}: {abs(ours - theirs) / theirs:.1e}")
    print("relative difference with float64 arrays (50 points):", "; ".join(exact))


if __name__ == "__main__":
    main()
