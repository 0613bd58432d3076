"""ACSD: how faithfully descriptor similarity predicts LDOS similarity (seed Eq. 16-17).

For grid points i and j with descriptors B_i, B_j and LDOS d_i, d_j the cosine similarity is

    S_C(x_i, x_j) = x_i . x_j / (|x_i| |x_j|)                          (seed Eq. 16)

and the average cosine similarity distance over a set P of sampled pairs

    ACSD = 1/|P| sum_{(i,j) in P} | S_C(d_i, d_j) - S_C(B_i, B_j) |    (seed Eq. 17)

Lower is better: similar descriptors should mean similar LDOS and vice versa. Two variants:

- ``"two-sided"`` (Eq. 17): ``n_points`` distinct grid points drawn at random, P = all
  n (n - 1) / 2 distinct pairs among them (the n self-pairs are left out: they contribute
  exactly 0 whatever the descriptor, and would lower the mean by 1/n).
- ``"mala"`` (MALA 1.4.0's ``ACSDAnalyzer``): ``n_points`` distinct "first" points; for each
  of them its own ``n_points`` distinct "second" points (n^2 ordered pairs, a point may meet
  itself); the one-sided mean of max(0, S_C(B_i, B_j) - S_C(d_i, d_j)), which counts only
  pairs whose descriptors are more alike than their LDOS. MALA draws unseeded with
  ``acsd_points = 100``; here the draw is seeded.

The result records which variant it used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ldos_surrogate.errors import InputError

VARIANTS = ("two-sided", "mala")


@dataclass(frozen=True)
class AcsdResult:
    """An ACSD value (dimensionless, in [0, 2]) and how it was obtained."""

    value: float
    variant: str  # "two-sided" (Eq. 17) or "mala" (one-sided, MALA's pair set)
    n_points: int
    n_pairs: int
    seed: int


def acsd(
    descriptors: np.ndarray,
    ldos: np.ndarray,
    n_points: int = 200,
    seed: int = 0,
    variant: str = "two-sided",
) -> AcsdResult:
    """ACSD of descriptors against LDOS on randomly sampled grid-point pairs (Eq. 16-17).

    Args:
        descriptors: (nx, ny, nz, n_features) or (n_grid, n_features), without coordinate
            columns (any units: the cosine similarity is scale-free).
        ldos: (nx, ny, nz, n_energies) or (n_grid, n_energies), states/(eV Angstrom^3), on the
            same grid points in the same order.
        n_points: grid points drawn (without replacement), 2 <= n_points <= n_grid.
        seed: seed of the draw (numpy's default generator).
        variant: ``"two-sided"`` or ``"mala"`` (see the module docstring).
    """
    if variant not in VARIANTS:
        raise InputError(f"variant: must be one of {VARIANTS}, got {variant!r}")
    features = _grid_rows(descriptors, "descriptors")
    targets = _grid_rows(ldos, "ldos")
    n_grid = features.shape[0]
    if targets.shape[0] != n_grid:
        raise InputError(
            f"ldos: {targets.shape[0]} grid points, but descriptors have {n_grid} "
            f"(shapes {np.shape(ldos)} and {np.shape(descriptors)})"
        )
    if isinstance(n_points, bool) or not isinstance(n_points, int) or not 2 <= n_points <= n_grid:
        raise InputError(f"n_points: needs an integer in [2, {n_grid}], got {n_points!r}")

    rng = np.random.default_rng(seed)
    if variant == "two-sided":
        points = rng.choice(n_grid, size=n_points, replace=False)
        first, second = np.triu_indices(n_points, k=1)
        value = acsd_of_pairs(features, targets, points[first], points[second], variant)
    else:
        first_points = rng.choice(n_grid, size=n_points, replace=False)
        second_points = np.stack(
            [rng.choice(n_grid, size=n_points, replace=False) for _ in range(n_points)]
        )
        first = np.repeat(first_points, n_points)
        value = acsd_of_pairs(features, targets, first, second_points.ravel(), variant)
    return AcsdResult(value, variant, n_points, first.size, seed)


def acsd_of_pairs(
    descriptors: np.ndarray,
    ldos: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    variant: str = "two-sided",
) -> float:
    """Eq. 17 (or MALA's one-sided form) over the given pairs (first[p], second[p]).

    ``descriptors`` (n_grid, n_features) and ``ldos`` (n_grid, n_energies) are grid rows;
    ``first`` and ``second`` are equally long integer arrays of grid-point indices.
    """
    descriptor_similarity = cosine_similarities(descriptors, first, second, "descriptors")
    ldos_similarity = cosine_similarities(ldos, first, second, "ldos")
    if variant == "two-sided":
        return float(np.mean(np.abs(ldos_similarity - descriptor_similarity)))
    return float(np.mean(np.maximum(descriptor_similarity - ldos_similarity, 0.0)))


def cosine_similarities(
    rows: np.ndarray, first: np.ndarray, second: np.ndarray, name: str
) -> np.ndarray:
    """S_C(x_first[p], x_second[p]) for every pair p (Eq. 16), float64."""
    points, position = np.unique(np.concatenate([first, second]), return_inverse=True)
    vectors = np.asarray(rows[points], dtype=np.float64)
    if not np.isfinite(vectors).all():
        raise InputError(f"{name}: a sampled grid point has NaN or infinite values")
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(norms > 0):
        raise InputError(f"{name}: a sampled grid point has an all-zero vector (no direction)")
    unit = vectors / norms[:, None]
    first_unit, second_unit = unit[position[: len(first)]], unit[position[len(first) :]]
    return np.einsum("pf,pf->p", first_unit, second_unit)


def _grid_rows(array: np.ndarray, name: str) -> np.ndarray:
    """(nx, ny, nz, c) or (n_grid, c) as (n_grid, c) rows, a view where the layout allows."""
    array = np.asarray(array)
    if array.ndim not in (2, 4):
        raise InputError(
            f"{name}: needs shape (nx, ny, nz, c) or (n_grid, c), got {np.shape(array)}"
        )
    rows = array.reshape(-1, array.shape[-1])
    if rows.shape[1] < 2:
        raise InputError(
            f"{name}: needs >= 2 components per grid point for a cosine similarity, "
            f"got {rows.shape[1]}"
        )
    return rows
