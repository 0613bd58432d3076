"""Orthogonal arrays for OAT: strength 2 checked by counting, padding and its mapping back,
range analysis on known numbers, the "no array" error and the construction time limit."""

from __future__ import annotations

import time
from collections import Counter
from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from ldos_surrogate.errors import InputError
from ldos_surrogate.search.oat import OatSettings, range_analysis
from ldos_surrogate.search.orthogonal_arrays import (
    OrthogonalDesign,
    is_strength_two,
    orthogonal_array,
    orthogonal_design,
    run_sizes,
)

KEY = "hydra.sweeper"


def factors(*counts: int) -> dict[str, int]:
    return {f"f{i}": count for i, count in enumerate(counts)}


def pair_counts(array: np.ndarray, i: int, j: int) -> Counter:
    return Counter(zip(array[:, i].tolist(), array[:, j].tolist(), strict=True))


def test_3_to_the_4_in_9_runs_has_every_level_pair_once_in_every_column_pair() -> None:
    design = orthogonal_design(factors(3, 3, 3, 3), max_runs=64, time_limit_s=20, key=KEY)
    assert design.n_runs == 9
    assert not design.padded
    for i, j in combinations(range(4), 2):
        assert pair_counts(design.array, i, j) == {(a, b): 1 for a in range(3) for b in range(3)}
    assert len({tuple(row) for row in design.array.tolist()}) == 9  # 9 distinct trials of 81


def test_mixed_levels_pad_to_fewer_runs_and_map_back_in_proportion() -> None:
    # unpadded, 4 x 3 x 2 x 2 needs N divisible by 12 and 8: 24 runs; padded to 4^4 or to the
    # next powers of two, 4 x 4 x 2 x 2: 16, the less padded one wins
    assert run_sizes((4, 3, 2, 2), 64) == [24, 48]
    design = orthogonal_design(factors(4, 3, 2, 2), max_runs=64, time_limit_s=20, key=KEY)
    assert (design.n_runs, design.array_levels) == (16, (4, 4, 2, 2))
    assert is_strength_two(design.array, design.array_levels)
    for i, j in combinations(range(4), 2):  # the padded array: every symbol pair equally often
        pair_count = 16 // (design.array_levels[i] * design.array_levels[j])
        assert set(pair_counts(design.array, i, j).values()) == {pair_count}

    levels = design.levels
    assert levels.tolist() == (design.array % [4, 3, 2, 2]).tolist()
    # level l of a factor with s real levels is used by the symbols d = l (mod s) of its
    # padded count: pair (a, b) occurs 16 * share(a) * share(b) times, e.g. level 0 of the
    # 3-level factor in 2 of 4 symbols (0 and 3)
    shares = [
        {level: Fraction(sum(d % s == level for d in range(v)), v) for level in range(s)}
        for s, v in zip((4, 3, 2, 2), design.array_levels, strict=True)
    ]
    for i, j in combinations(range(4), 2):
        expected = {
            (a, b): 16 * share_a * share_b
            for a, share_a in shares[i].items()
            for b, share_b in shares[j].items()
        }
        assert pair_counts(levels, i, j) == expected
    assert design.padding_notes(["layers", "activation", "lr", "batch"]) == [
        "activation: 3 levels padded to 4; symbols 3 -> level 0",
    ]


def test_an_8_level_factor_pads_the_others_to_powers_of_two() -> None:
    """8 x 4 x 3 x 2 x 2 (the 32-atom comparison's space): 96 runs unpadded, 64 as 8^5 (which
    oapackage's extension does not find in time), 32 as 8 x 4 x 4 x 2 x 2."""
    design = orthogonal_design(factors(8, 4, 3, 2, 2), max_runs=64, time_limit_s=20, key=KEY)
    assert (design.n_runs, design.array_levels) == (32, (8, 4, 4, 2, 2))
    assert is_strength_two(design.array, design.array_levels)


@pytest.mark.parametrize(
    ("counts", "n_runs"),
    [((2,) * 7, 8), ((4,) * 5, 16), ((5,) * 6, 25), ((3,) * 7, 18), ((3, 2), 6), ((5,), 5)],
)
def test_smallest_arrays_of_common_spaces(counts: tuple[int, ...], n_runs: int) -> None:
    design = orthogonal_design(factors(*counts), max_runs=64, time_limit_s=20, key=KEY)
    assert (design.n_runs, design.array_levels) == (n_runs, counts)
    assert is_strength_two(design.array, counts)
    for column, count in enumerate(counts):
        assert np.bincount(design.array[:, column]).tolist() == [n_runs // count] * count


def test_strength_check_rejects_an_unbalanced_pair() -> None:
    full = np.array([[a, b] for a in range(3) for b in range(3)])
    assert is_strength_two(full, (3, 3))
    assert not is_strength_two(np.vstack([full[:8], full[:1]]), (3, 3))


def test_range_analysis_recovers_additive_effects_exactly() -> None:
    # loss = sum of one effect per factor level: orthogonality makes every level mean the
    # level's own effect plus the same mean of the others, so ranges equal the effects' ranges
    effects = [
        np.array([3.0, 1.0, 2.0]),
        np.array([0.0, 0.5, 4.0]),
        np.zeros(3),
        np.array([2, 2, 1.5]),
    ]
    design = orthogonal_design(factors(3, 3, 3, 3), max_runs=9, time_limit_s=20, key=KEY)
    losses = [sum(e[level] for e, level in zip(effects, row, strict=True)) for row in design.levels]
    analysis = range_analysis(design, losses, ["a", "b", "c", "d"])
    assert [e.best_level for e in analysis] == [1, 0, 0, 2]
    assert [e.importance for e in analysis] == pytest.approx([2.0, 4.0, 0.0, 0.5], abs=1e-12)
    others = sum(e.mean() for e in effects)
    for effect, result in zip(effects, analysis, strict=True):
        expected = effect + others - effect.mean()
        assert result.level_means == pytest.approx(expected.tolist(), abs=1e-12)


def test_range_analysis_by_hand() -> None:
    array = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    design = OrthogonalDesign((2, 2), (2, 2), array)
    first, second = range_analysis(design, [1.0, 2.0, 3.0, 6.0], ["x", "y"])
    assert (first.level_means, first.best_level, first.importance) == ((1.5, 4.5), 0, 3.0)
    assert (second.level_means, second.best_level, second.importance) == ((2.0, 4.0), 0, 2.0)
    with pytest.raises(InputError, match="needs 4 finite losses"):
        range_analysis(design, [1.0, 2.0, 3.0], ["x", "y"])
    with pytest.raises(InputError, match="needs 4 finite losses"):
        range_analysis(design, [np.inf, 2.0, 3.0, 6.0], ["x", "y"])


def test_no_array_within_max_runs_is_one_error_naming_what_was_tried() -> None:
    # no pair of orthogonal Latin squares of order 6 (Euler's 36 officers): no OA(36, 6^4);
    # its padding to 7 levels needs 49 runs, more than allowed
    with pytest.raises(InputError) as error:
        orthogonal_design(factors(6, 6, 6, 6), max_runs=40, time_limit_s=20, key=KEY)
    message = str(error.value)
    assert message.startswith("hydra.sweeper: no strength-2 orthogonal array")
    assert "max_runs = 40" in message and "36 runs of levels [6, 6, 6, 6]" in message


def test_bad_factors_and_settings_are_named() -> None:
    with pytest.raises(InputError, match=r"hydra.sweeper.params.lr: a factor needs >= 2 levels"):
        orthogonal_design({"hydra.sweeper.params.lr": 1, "x": 3}, 64, 20, KEY)
    with pytest.raises(InputError, match="hydra.sweeper: no factors"):
        orthogonal_design({}, 64, 20, KEY)
    with pytest.raises(InputError, match="hydra.sweeper.max_runs"):
        OatSettings(max_runs=1).check(KEY)
    with pytest.raises(InputError, match="hydra.sweeper.time_limit_s"):
        OatSettings(time_limit_s=0).check(KEY)


def test_a_construction_past_its_time_limit_is_stopped() -> None:
    # the candidates of a third 7-level column in 49 runs number millions
    started = time.perf_counter()
    assert orthogonal_array((7, 7, 7), 49, time_limit_s=1.0) is None
    assert time.perf_counter() - started < 5
