"""Strength-2 orthogonal arrays for orthogonal array tuning (OAT), built with oapackage.

An orthogonal array OA(N, s_1 ... s_k, 2) is an N x k array whose column i holds the symbols
0 ... s_i - 1 such that in every pair of columns every pair of symbols occurs equally often
(strength 2; Hedayat, Sloane and Stufken, *Orthogonal Arrays*, 1999, Def. 1.1). Its N rows
estimate every factor's main effect from balanced data with far fewer runs than the full
grid (3^4 in 9 runs instead of 81).

Construction (oapackage, Eendebak and Schoen): N must be a multiple of s_i s_j for every pair
of factors and at least 1 + sum_i (s_i - 1) (Rao's bound, ibid. Thm. 2.1); the smallest such
N that admits an array is used. The array grows column by column from oapackage's root (the
first two columns, a repeated full factorial): each step asks ``extend_array`` for the
orthogonal candidates of the next column and takes the first, backtracking depth-first only
at a dead end, within ``MAX_EXTENSIONS`` steps. Exhaustive enumeration (``extend_arraylist``)
can run for minutes; even one step can (the candidates of a third 7-level column in 49 runs
number millions: ~40 s and > 1 GiB before oapackage gives up), so every attempt runs in a
forked process with a time limit and a memory cap.

Padding: when the level counts admit no array within ``max_runs`` runs, or admit one only with
more runs than a padded space, every factor is padded to a common level count v >= max s_i (v
up to the next prime power, for which OA(v^2, v^(v+1), 2) exists). A padded symbol d of a
factor with s real levels stands for level d mod s, so some real levels occur more often;
every pair of levels still occurs in proportional numbers, which keeps the main effects
unconfounded. A second kind of padding takes each factor to the next power of two on its own
(levels 8, 4, 3, 2, 2 -> 8, 4, 4, 2, 2): mixed power-of-two levels admit arrays in few runs
(32 here, found in 0.4 s, where the common 8^5 needs 64 runs and oapackage's extension finds
none within 80 s). Among the candidate spaces the one with the fewest runs wins, the unpadded
one on ties. Measured here (2 cores): 3^4 in 9 runs, 4^5 in 16, 5^6 in 25, 3^7 in 18 and 2^7 in
8 take ~0.1 s each; levels (4, 3, 2, 2) pad to 4^4 in 16 runs (24 unpadded); 6^4 has no
array in 36 runs (Euler's officers) and 7^4 none found in 49 within 10 s.
"""

from __future__ import annotations

import math
import multiprocessing
import resource
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import combinations
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError

# Column-extension steps (oapackage ``extend_array`` calls) one attempt may take.
MAX_EXTENSIONS = 500
# Memory a construction process may add to what it inherits: oapackage fails with bad_alloc
# past it.
MEMORY_MARGIN_BYTES = 1 << 30


@dataclass(frozen=True)
class OrthogonalDesign:
    """The rows of an OAT search.

    level_counts: real levels s_i of each factor, in the search's order.
    array_levels: levels of the constructed orthogonal array (> s_i where padded).
    array: (n_runs, n_factors) symbols of the orthogonal array, 0 ... array_levels[i] - 1.
    failed: the attempts (run size, levels) that found no array before this one.
    """

    level_counts: tuple[int, ...]
    array_levels: tuple[int, ...]
    array: np.ndarray
    failed: tuple[str, ...] = ()

    @property
    def n_runs(self) -> int:
        return int(self.array.shape[0])

    @property
    def levels(self) -> np.ndarray:
        """(n_runs, n_factors) real level indices: a padded symbol d means d mod s_i."""
        return self.array % np.asarray(self.level_counts)

    @property
    def padded(self) -> bool:
        return self.array_levels != self.level_counts

    def padding_notes(self, names: Sequence[str]) -> list[str]:
        """One line per padded factor: which real level each extra symbol repeats."""
        return [
            f"{name}: {real} levels padded to {padded}; symbols "
            + ", ".join(f"{d} -> level {d % real}" for d in range(real, padded))
            for name, real, padded in zip(names, self.level_counts, self.array_levels, strict=True)
            if padded != real
        ]


def run_sizes(level_counts: Sequence[int], max_runs: int) -> list[int]:
    """Run sizes N <= max_runs that a strength-2 array with these levels can have: multiples
    of every s_i s_j (i < j) from Rao's bound 1 + sum (s_i - 1) on, ascending."""
    if len(level_counts) == 1:
        return [level_counts[0]] if level_counts[0] <= max_runs else []
    step = reduce(math.lcm, (a * b for a, b in combinations(level_counts, 2)))
    rao = 1 + sum(s - 1 for s in level_counts)
    first = step * math.ceil(rao / step)
    return list(range(first, max_runs + 1, step))


def is_strength_two(array: np.ndarray, array_levels: Sequence[int]) -> bool:
    """Whether every pair of columns holds every pair of symbols equally often."""
    n_runs = array.shape[0]
    for i, j in combinations(range(array.shape[1]), 2):
        cells = array_levels[i] * array_levels[j]
        if n_runs % cells:
            return False
        counts = np.bincount(array[:, i] * array_levels[j] + array[:, j], minlength=cells)
        if not np.all(counts == n_runs // cells):
            return False
    return True


def extend_greedily(array_levels: Sequence[int], n_runs: int) -> np.ndarray | None:
    """An OA(n_runs, array_levels, 2) grown column by column with oapackage, or None.

    Takes the first orthogonal extension of each column, backtracking depth-first at dead
    ends, for at most MAX_EXTENSIONS extension steps. Runs in this process with no limit on
    time or memory: use `orthogonal_array` for spaces of unknown difficulty.
    """
    import oapackage

    order = np.argsort(-np.asarray(array_levels), kind="stable")  # oapackage wants s_1 >= s_2 ...
    sorted_levels = [int(array_levels[i]) for i in order]
    if len(sorted_levels) == 1:
        found = np.arange(n_runs)[:, None] % sorted_levels[0]
    else:
        arrayclass = oapackage.arraydata_t(sorted_levels, n_runs, 2, len(sorted_levels))
        options = oapackage.OAextend(arrayclass)
        options.checkarrays = 0  # no LMC reduction: for >= 5 levels it dominates the time
        steps = 0

        def grow(partial: oapackage.array_link) -> oapackage.array_link | None:
            nonlocal steps
            column = partial.n_columns
            if column == len(sorted_levels):
                return partial
            if steps >= MAX_EXTENSIONS:
                return None
            steps += 1
            extensions = oapackage.arraylist_t()
            oapackage.extend_array(partial, arrayclass, column, extensions, options)
            for candidate in extensions:
                done = grow(candidate)
                if done is not None or steps >= MAX_EXTENSIONS:
                    return done
            return None

        complete = grow(arrayclass.create_root())
        if complete is None:
            return None
        found = np.array(complete)
    array = np.empty_like(found)
    array[:, order] = found
    return array.astype(np.int64)


def orthogonal_array(
    array_levels: Sequence[int], n_runs: int, time_limit_s: float
) -> np.ndarray | None:
    """`extend_greedily` in a forked process, stopped after ``time_limit_s`` seconds or
    MEMORY_MARGIN_BYTES of new memory (then None, as when no array is found)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_construct_in_child, args=(sender, tuple(array_levels), n_runs), daemon=True
    )
    process.start()
    sender.close()
    try:
        if not receiver.poll(time_limit_s):
            return None
        return receiver.recv()
    except EOFError:  # the child died (out of memory)
        return None
    finally:
        process.kill()
        process.join()
        receiver.close()


def _construct_in_child(sender, array_levels: tuple[int, ...], n_runs: int) -> None:
    inherited = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    limit = inherited + MEMORY_MARGIN_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        sender.send(extend_greedily(array_levels, n_runs))
    except (MemoryError, SystemError, RuntimeError):  # oapackage's bad_alloc, "too large"
        sender.send(None)


def candidate_spaces(level_counts: Sequence[int]) -> list[tuple[int, ...]]:
    """The unpadded levels, each factor padded to the next power of two, then every factor
    padded to a common v, for v from max s_i to the next prime power (without repeats)."""
    unpadded = tuple(int(s) for s in level_counts)
    spaces = [unpadded]
    powers_of_two = tuple(1 << (s - 1).bit_length() for s in unpadded)
    if powers_of_two != unpadded:
        spaces.append(powers_of_two)
    v = max(unpadded)
    while True:
        uniform = (v,) * len(unpadded)
        if uniform not in spaces:
            spaces.append(uniform)
        if _is_prime_power(v):
            return spaces
        v += 1


def orthogonal_design(
    factors: Mapping[str, int], max_runs: int, time_limit_s: float, key: str
) -> OrthogonalDesign:
    """The strength-2 design with the fewest runs <= max_runs for the level counts of
    ``factors`` (name -> count, in column order), padded when that takes fewer runs or none
    exists unpadded (module docstring).

    ``time_limit_s`` bounds each construction attempt (one candidate space and run size).
    InputErrors name the factor (a count below 2) or ``key``, the settings holding
    ``max_runs`` and ``time_limit_s`` (no design found).
    """
    if not factors:
        raise InputError(f"{key}: no factors to build an orthogonal array for")
    for name, count in factors.items():
        if count < 2:
            raise InputError(f"{name}: a factor needs >= 2 levels, got {count}")
    counts = tuple(int(count) for count in factors.values())
    attempts = sorted(
        (n_runs, padded_index, space)
        for padded_index, space in enumerate(candidate_spaces(counts))
        for n_runs in run_sizes(space, max_runs)
    )
    tried: list[str] = []
    for n_runs, _, space in attempts:
        array = orthogonal_array(space, n_runs, time_limit_s)
        if array is not None and is_strength_two(array, space):
            return OrthogonalDesign(counts, space, array, tuple(tried))
        tried.append(f"{n_runs} runs of levels {list(space)}")
    raise InputError(
        f"{key}: no strength-2 orthogonal array of at most max_runs = {max_runs} runs for the "
        f"level counts {list(counts)}, padded or not (tried: {'; '.join(tried) or 'nothing'}; "
        f"time_limit_s = {time_limit_s:g} s each); raise max_runs or time_limit_s, or give "
        f"fewer levels"
    )


def _is_prime_power(n: int) -> bool:
    prime = next(p for p in range(2, n + 1) if n % p == 0)
    while n % prime == 0:
        n //= prime
    return n == 1
