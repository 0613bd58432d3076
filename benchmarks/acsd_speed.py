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

    .venv/bin/python benchmarks/acsd_speed.py
    .venv/bin/python benchmarks/acsd_speed.py --quick   # Be2 grid, 100 points, once: CI

Writes ``<out>/acsd_speed.json``.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from functools import partial

import numpy as np
from harness import BE2, BE2_ENERGY_GRID, arguments, best_of, timed, write_outputs

from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.scores.acsd import acsd, acsd_of_pairs


def grids(supercell: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Grid rows (n_grid, c) of descriptors and LDOS, float32 as stored: the Be2 snapshot and,
    with ``supercell``, its tiling."""
    snapshot = read_mala_snapshot(BE2 / "Be_snapshot0", BE2_ENERGY_GRID)
    descriptors, ldos = np.ascontiguousarray(snapshot.descriptors()), snapshot.ldos()
    tiles = (4, 4, 8, 1)
    arrays = {"Be2, 18x18x27": (descriptors, np.asarray(ldos))}
    if supercell:
        arrays["256-atom supercell, 72x72x216"] = (
            np.tile(descriptors, tiles),
            np.tile(ldos, tiles),
        )
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
        value, seconds = timed(
            ACSDAnalyzer._calculate_acsd,
            descriptors,
            ldos,
            n_points,
            descriptor_vectors_contain_xyz=False,
        )
    first = np.repeat(draws[0][:n_points], n_points)
    second = np.concatenate([draw[:n_points] for draw in draws[1:]])
    return float(value), first, second, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of ours (best counts)")
    args = arguments(__doc__.splitlines()[0], parser)
    repeats = 1 if args.quick else args.repeats
    point_counts = (100,) if args.quick else (100, 200)

    print(
        "| grid | points | MALA value | rel. diff (float32) | MALA s | ours, mala variant s "
        "| ratio | ours, two-sided s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    exact, results = [], {}
    for name, (descriptors, ldos) in grids(supercell=not args.quick).items():
        results[name] = {"by_points": {}}
        for n_points in point_counts:
            theirs, first, second, mala_seconds = mala_acsd(descriptors, ldos, n_points)
            ours = acsd_of_pairs(descriptors, ldos, first, second, "mala")
            mala_variant = partial(acsd, descriptors, ldos, n_points, variant="mala")
            _, ours_mala = best_of(repeats, mala_variant)
            _, ours_two_sided = best_of(repeats, acsd, descriptors, ldos, n_points)
            results[name]["by_points"][str(n_points)] = {
                "mala_value": theirs,
                "ours_value_same_pairs": ours,
                "rel_diff_float32": abs(ours - theirs) / theirs,
                "mala_s": mala_seconds,
                "ours_mala_variant_s": ours_mala,
                "ours_two_sided_s": ours_two_sided,
                "ratio": mala_seconds / ours_mala,
            }
            print(
                f"| {name} | {n_points} | {theirs:.4e} | {abs(ours - theirs) / theirs:.1e} "
                f"| {mala_seconds:.2f} | {ours_mala:.4f} | {mala_seconds / ours_mala:.0f} "
                f"| {ours_two_sided:.4f} |"
            )
        descriptors64, ldos64 = descriptors.astype(np.float64), ldos.astype(np.float64)
        theirs, first, second, _ = mala_acsd(descriptors64, ldos64, 50)
        ours = acsd_of_pairs(descriptors64, ldos64, first, second, "mala")
        results[name]["rel_diff_float64_50_points"] = abs(ours - theirs) / theirs
        exact.append(f"{name}: {abs(ours - theirs) / theirs:.1e}")
    print("relative difference with float64 arrays (50 points):", "; ".join(exact))
    payload = {"mode": "quick" if args.quick else "full", "repeats": repeats, "grids": results}
    print(f"wrote {write_outputs('acsd_speed', args.out, payload)}")


if __name__ == "__main__":
    main()
