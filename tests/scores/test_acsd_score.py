"""ACSD (seed Eq. 16-17) on MALA's Be2 descriptors and LDOS."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.scores.acsd import acsd, acsd_of_pairs


@pytest.fixture(scope="module")
def be2(mala_be2) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors (18, 18, 27, 91) and LDOS (18, 18, 27, 11) of Be2 snapshot 0."""
    snapshot = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    return snapshot.descriptors(), snapshot.ldos()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = [float(x) for x in a]
    b = [float(x) for x in b]
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_two_sided_equals_double_loop_over_all_pairs_of_the_drawn_points(be2):
    descriptors, ldos = (array.reshape(-1, array.shape[-1]) for array in be2)
    points = np.random.default_rng(5).choice(descriptors.shape[0], size=30, replace=False)
    distances = []
    for a in range(len(points)):
        for b in range(a + 1, len(points)):
            i, j = points[a], points[b]
            distances.append(abs(cosine(ldos[i], ldos[j]) - cosine(descriptors[i], descriptors[j])))

    result = acsd(*be2, n_points=30, seed=5)
    assert (result.variant, result.n_pairs) == ("two-sided", 435)
    assert result.value == pytest.approx(sum(distances) / len(distances), rel=1e-12)


def test_mala_variant_equals_double_loop_over_its_pairs(be2):
    """n first points, each with its own n second points; one-sided distances."""
    descriptors, ldos = (array.reshape(-1, array.shape[-1]) for array in be2)
    rng = np.random.default_rng(6)
    first_points = rng.choice(descriptors.shape[0], size=20, replace=False)
    total = 0.0
    for i in first_points:
        for j in rng.choice(descriptors.shape[0], size=20, replace=False):
            total += max(0.0, cosine(descriptors[i], descriptors[j]) - cosine(ldos[i], ldos[j]))

    result = acsd(*be2, n_points=20, seed=6, variant="mala")
    assert (result.variant, result.n_pairs) == ("mala", 400)
    assert result.value == pytest.approx(total / 400, rel=1e-12)


def test_descriptors_as_similar_as_the_ldos_give_zero(be2):
    """Descriptors (2 d, d) have exactly the cosine similarities of the LDOS d."""
    _, ldos = be2
    descriptors = np.concatenate([2.0 * ldos, ldos], axis=-1)
    for variant in ("two-sided", "mala"):
        assert acsd(descriptors, ldos, variant=variant).value == pytest.approx(0.0, abs=1e-12)


def standardised(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return (rows - rows.mean(axis=0)) / rows.std(axis=0)


def test_be2_descriptors_predict_the_ldos_better_than_shuffled_ones(be2):
    """SNAP descriptors on their own grid points score better (lower) than the same descriptors
    shuffled over the grid (each LDOS then meets another point's environment). Raw Be2
    descriptors are all nearly parallel (S_C ~ 1), so the two-sided ACSD needs per-feature
    standardised arrays to tell the two apart; MALA's one-sided variant works on raw ones."""
    descriptors, ldos = (array.reshape(-1, array.shape[-1]) for array in be2)
    shuffled = np.random.default_rng(0).permutation(descriptors)
    for seed in range(3):
        matched = acsd(descriptors, ldos, seed=seed, variant="mala").value
        assert 0.0 < matched < 0.05 * acsd(shuffled, ldos, seed=seed, variant="mala").value
        matched = acsd(standardised(descriptors), standardised(ldos), seed=seed).value
        assert matched < 0.85 * acsd(standardised(shuffled), standardised(ldos), seed=seed).value


def test_same_seed_same_value(be2):
    assert acsd(*be2, seed=4) == acsd(*be2, seed=4)
    assert acsd(*be2, seed=4).value != acsd(*be2, seed=5).value


def test_mala_variant_equals_malas_own_function(be2, monkeypatch):
    """MALA draws its pairs from unseeded generators; record its draws, then score them here.
    float64 arrays: MALA computes in the arrays' precision."""
    acsd_analyzer = pytest.importorskip("mala.network.acsd_analyzer")
    descriptors, ldos = (np.asarray(a.reshape(-1, a.shape[-1]), dtype=np.float64) for a in be2)
    draws = []
    make_generator = np.random.default_rng

    class RecordingGenerator:
        def __init__(self, seed=None):
            self._generator = make_generator(len(draws))

        def choice(self, *args, **kwargs):
            draws.append(self._generator.choice(*args, **kwargs))
            return draws[-1]

    monkeypatch.setattr(np.random, "default_rng", RecordingGenerator)
    n = 40
    theirs = acsd_analyzer.ACSDAnalyzer._calculate_acsd(
        descriptors, ldos, n, descriptor_vectors_contain_xyz=False
    )
    monkeypatch.undo()

    first = np.repeat(draws[0][:n], n)
    second = np.concatenate([draw[:n] for draw in draws[1:]])
    assert acsd_of_pairs(descriptors, ldos, first, second, "mala") == pytest.approx(
        theirs, rel=1e-9
    )


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"variant": "one-sided"}, "variant"),
        ({"n_points": 1}, "n_points"),
        ({"n_points": 18 * 18 * 27 + 1}, "n_points"),
    ],
)
def test_bad_settings_name_the_key(be2, arguments, key):
    with pytest.raises(InputError, match=key):
        acsd(*be2, **arguments)


def test_mismatched_or_degenerate_arrays_are_refused(be2):
    descriptors, ldos = be2
    with pytest.raises(InputError, match="ldos"):
        acsd(descriptors, ldos[:-1])
    with pytest.raises(InputError, match="descriptors"):
        acsd(descriptors[..., :1], ldos)
    with pytest.raises(InputError, match="ldos"):
        acsd(descriptors, np.zeros_like(ldos))
