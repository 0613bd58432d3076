"""Batches of (scaled descriptors, scaled LDOS) grid points for one epoch at a time.

Two sources, both plain iterables with a length (Lightning accepts any iterable as a
data loader), both yielding (inputs (b, n_features), targets (b, n_energies)) float32:

- `InMemoryBatches`: the split lives in two tensors; an epoch is a random permutation of
  all its grid points, cut into batches (one gather per batch, no per-sample calls).
- `LazyBatches`: the split stays on disk. Every snapshot is cut into chunks of consecutive
  grid points; an epoch visits the chunks of all snapshots in random order, reads
  ``chunks_per_buffer`` of them at a time into a buffer and serves that buffer in random
  order. Points left over at the end of a buffer go into the next one, so every batch but
  the last is full and every point is visited once per epoch.

Shuffling crosses snapshots in both. The order of epoch e depends only on (seed, e); the
epoch counter starts at ``first_epoch`` and advances with each pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from ldos_surrogate.data.grids import SnapshotGrids
from ldos_surrogate.data.scalers import AffineScaler

Batch = tuple[torch.Tensor, torch.Tensor]


class _ScaledBatches:
    """Batch count, the random generator of each epoch and the scaling of a batch."""

    def __init__(
        self,
        n_points: int,
        scalers: tuple[AffineScaler, AffineScaler],
        batch_size: int,
        shuffle: bool,
        seed: int,
        first_epoch: int,
        shard: tuple[int, int] = (0, 1),
        epoch_of: Callable[[], int] | None = None,
    ) -> None:
        self.n_points = n_points
        self.epoch_of = epoch_of
        self.input_scaler, self.target_scaler = scalers
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = first_epoch
        self.rank, self.world_size = shard

    @property
    def n_batches(self) -> int:
        """Batches of the whole epoch, over all processes."""
        return math.ceil(self.n_points / self.batch_size)

    def __len__(self) -> int:
        return math.ceil(self.n_batches / self.world_size)

    def __iter__(self) -> Iterator[Batch]:
        """This process's share of the epoch: batches rank, rank + W, rank + 2W, ... of the
        same seeded order on every process (W = world size). When W does not divide the
        batch count, the short processes repeat one of the first batches so that all take
        the same number of steps (as torch's DistributedSampler pads)."""
        if self.world_size == 1:
            yield from self._all_batches()
            return
        padding = len(self) * self.world_size - self.n_batches
        short = self.rank >= self.world_size - padding
        repeat = self.rank + (len(self) - 1) * self.world_size - self.n_batches
        repeated = None
        for index, batch in enumerate(self._all_batches()):
            if index % self.world_size == self.rank:
                yield batch
            if short and index == repeat:
                repeated = batch
        if short:
            yield repeated

    def _all_batches(self) -> Iterator[Batch]:
        raise NotImplementedError

    def _next_generator(self) -> np.random.Generator | None:
        """The generator of the epoch about to start (None without shuffling): of the
        trainer's epoch when ``epoch_of`` tells it, else of passes counted from
        ``first_epoch`` (a run resumed from a checkpoint written at the end of an epoch's
        validation finishes that epoch without a pass, so counting would lag one epoch)."""
        if self.epoch_of is not None:
            self.epoch = self.epoch_of()
        generator = np.random.default_rng([self.seed, self.epoch]) if self.shuffle else None
        self.epoch += 1
        return generator

    def _batch(self, inputs: torch.Tensor, targets: torch.Tensor, index: torch.Tensor) -> Batch:
        """Rows ``index`` gathered (index_select copies; several times faster than
        ``inputs[index]``) and scaled in place."""
        return (
            self.input_scaler.transform_(inputs.index_select(0, index)),
            self.target_scaler.transform_(targets.index_select(0, index)),
        )


def _order(n: int, generator: np.random.Generator | None) -> torch.Tensor:
    """A random permutation of range(n), or range(n) itself without a generator."""
    if generator is None:
        return torch.arange(n)
    return torch.from_numpy(generator.permutation(n))


class InMemoryBatches(_ScaledBatches):
    """Batches drawn from whole-split tensors held in memory (unscaled, float32)."""

    def __init__(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        scalers: tuple[AffineScaler, AffineScaler],
        batch_size: int,
        shuffle: bool,
        seed: int,
        first_epoch: int = 0,
        shard: tuple[int, int] = (0, 1),
        epoch_of: Callable[[], int] | None = None,
    ) -> None:
        super().__init__(
            len(inputs), scalers, batch_size, shuffle, seed, first_epoch, shard, epoch_of
        )
        self.inputs, self.targets = inputs, targets

    def _all_batches(self) -> Iterator[Batch]:
        order = _order(self.n_points, self._next_generator()).to(self.inputs.device)
        for start in range(0, self.n_points, self.batch_size):
            yield self._batch(self.inputs, self.targets, order[start : start + self.batch_size])


class LazyBatches(_ScaledBatches):
    """Batches read from disk chunk by chunk; memory stays at one buffer plus one batch.

    Up to ``chunk_points`` consecutive grid points of one snapshot make a chunk; a buffer
    holds ``chunks_per_buffer`` chunks plus the fewer than ``batch_size`` points carried over
    from the previous buffer.
    """

    def __init__(
        self,
        grids: Sequence[SnapshotGrids],
        scalers: tuple[AffineScaler, AffineScaler],
        batch_size: int,
        shuffle: bool,
        seed: int,
        chunk_points: int,
        chunks_per_buffer: int,
        first_epoch: int = 0,
        shard: tuple[int, int] = (0, 1),
        epoch_of: Callable[[], int] | None = None,
    ) -> None:
        n_points = sum(g.n_points for g in grids)
        super().__init__(n_points, scalers, batch_size, shuffle, seed, first_epoch, shard, epoch_of)
        self.chunks_per_buffer = chunks_per_buffer
        self.chunks = [
            (grid, start, min(start + chunk_points, grid.n_points))
            for grid in grids
            for start in range(0, grid.n_points, chunk_points)
        ]

    def _all_batches(self) -> Iterator[Batch]:
        generator = self._next_generator()
        chunk_order = _order(len(self.chunks), generator).tolist()
        # one buffer per epoch, refilled in place: batches are copies, never views of it
        longest_chunk = max(stop - start for _, start, stop in self.chunks)
        buffer = self._empty(self.chunks_per_buffer * longest_chunk + self.batch_size)
        carried = self._empty(0)
        for first in range(0, len(chunk_order), self.chunks_per_buffer):
            group = [self.chunks[i] for i in chunk_order[first : first + self.chunks_per_buffer]]
            inputs, targets = self._fill(buffer, carried, group)
            order = _order(len(inputs), generator)
            is_last = first + self.chunks_per_buffer >= len(chunk_order)
            n_served = len(inputs) if is_last else len(inputs) // self.batch_size * self.batch_size
            for start in range(0, n_served, self.batch_size):
                end = min(start + self.batch_size, n_served)
                yield self._batch(inputs, targets, order[start:end])
            rest = order[n_served:]
            carried = (inputs.index_select(0, rest), targets.index_select(0, rest))

    def _empty(self, n_points: int) -> Batch:
        grid = self.chunks[0][0]
        return (
            torch.empty(n_points, grid.descriptors.n_columns),
            torch.empty(n_points, grid.ldos.n_columns),
        )

    def _fill(
        self, buffer: Batch, carried: Batch, group: list[tuple[SnapshotGrids, int, int]]
    ) -> Batch:
        """Views of ``buffer`` holding the carried points, then the rows of each chunk."""
        n_points = len(carried[0]) + sum(stop - start for _, start, stop in group)
        inputs, targets = buffer[0][:n_points], buffer[1][:n_points]
        offset = len(carried[0])
        inputs[:offset], targets[:offset] = carried
        for grid, start, stop in group:
            grid.descriptors.read_into(start, inputs[offset : offset + stop - start].numpy())
            grid.ldos.read_into(start, targets[offset : offset + stop - start].numpy())
            offset += stop - start
        return inputs, targets
