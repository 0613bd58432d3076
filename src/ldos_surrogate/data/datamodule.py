"""`LdosDataModule`: SNAP descriptors -> LDOS grid points of a snapshot data set, by split.

Splits are lists of snapshot names from the data set's ``manifest.json``. `setup` opens
the snapshots, takes their descriptors from the descriptor cache (computing missing ones
with LAMMPS), reads every array once in chunks to reject NaN/inf, and fits the scalers on
the training snapshots only: descriptors are standardised per feature, the LDOS by
``ldos_scaling`` ("minmax": one global range, or "standard": per energy; see `scalers`).

Memory: the data of all splits takes n_points (n_features + n_energies) 4 bytes. When that
fits in ``memory_budget_mb`` it is held in memory, on the trainer's device once a trainer
asks for batches (GPU memory when training on a GPU), and batches are gathered from it;
otherwise batches are read from disk through a buffer of at most half the budget (see
`batches`), so a data set larger than RAM trains. Either way the training order is shuffled across
snapshots and fixed by ``seed`` and the epoch number; validation and test are in order.

Checkpoints: Lightning stores `state_dict` (descriptor parameters and both scalers, plain
tensors and strings, loadable with ``torch.load(weights_only=True)``) under the key
``"LdosDataModule"`` of the checkpoint and hands it back to `load_state_dict` on resume. A
model predicts physical LDOS with ``ldos_scaler.inverse_transform(model(inputs))``, the
inputs being `snapshot_inputs`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning import LightningDataModule

from ldos_surrogate.data.batches import InMemoryBatches, LazyBatches
from ldos_surrogate.data.grids import GridArray, SnapshotGrids
from ldos_surrogate.data.scalers import (
    SCALER_KINDS,
    AffineScaler,
    ScalerFit,
    StandardFit,
    scaler_fit,
)
from ldos_surrogate.descriptors import SnapParams, cached_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import (
    LDOS_FILE,
    MANIFEST_FILE,
    META_FILE,
    Snapshot,
    dataset_names,
    read_snapshot,
)
from ldos_surrogate.physics.grid import grid_spacing

SPLITS = ("train", "val", "test")
BYTES_PER_VALUE = 4  # float32
CHUNKS_PER_BUFFER = 16


class LdosDataModule(LightningDataModule):
    """Descriptor/LDOS grid points of the snapshots in ``dataset_dir``, split by snapshot.

    Args:
        dataset_dir: data set folder (snapshot folders + manifest.json).
        train, val, test: snapshot names of each split (disjoint; train not empty).
        descriptor_params: SNAP hyperparameters, a SnapParams or a dict of its fields.
        ldos_scaling: "minmax" (global range to [0, 1]) or "standard" (per energy).
        batch_size: grid points per batch.
        memory_budget_mb: MiB the data may occupy in memory (see the module docstring).
        seed: fixes the training order of every epoch.
        cache_dir: descriptor cache folder (default: one inside each snapshot folder, or
            the per-user cache for a data set that cannot be written; see
            `ldos_surrogate.descriptors.cache`).
        how_to_make: the command that makes the data set, named in the error when it is absent.
    """

    def __init__(
        self,
        dataset_dir: str | Path,
        train: Sequence[str],
        val: Sequence[str],
        test: Sequence[str] = (),
        descriptor_params: SnapParams | Mapping[str, Any] | None = None,
        ldos_scaling: str = "minmax",
        batch_size: int = 1024,
        memory_budget_mb: float = 1024.0,
        seed: int = 0,
        cache_dir: str | Path | None = None,
        how_to_make: str | None = None,
    ) -> None:
        super().__init__()
        if descriptor_params is None:
            raise InputError("descriptor_params: required (rcut, twojmax, ...)")
        if ldos_scaling not in SCALER_KINDS:
            raise InputError(f"ldos_scaling: expected one of {SCALER_KINDS}, got {ldos_scaling!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise InputError(f"batch_size: must be a positive integer, got {batch_size}")
        if not memory_budget_mb > 0:
            raise InputError(f"memory_budget_mb: must be positive, got {memory_budget_mb}")
        self.dataset_dir = Path(dataset_dir)
        self.split_names = {"train": list(train), "val": list(val), "test": list(test)}
        self.descriptor_params = (
            descriptor_params
            if isinstance(descriptor_params, SnapParams)
            else SnapParams.from_dict(descriptor_params)
        )
        self.ldos_scaling = ldos_scaling
        self.batch_size = int(batch_size)
        self.memory_budget_bytes = int(memory_budget_mb * 2**20)
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.how_to_make = how_to_make
        self.descriptor_scaler: AffineScaler | None = None
        self.ldos_scaler: AffineScaler | None = None
        self.descriptor_range: dict[str, torch.Tensor] | None = None
        self.grid_spacing: list[float] | None = None
        self._grids: dict[str, list[SnapshotGrids]] = {}
        self._in_memory: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    # ---- setup -------------------------------------------------------------------------

    def setup(self, stage: str | None = None) -> None:
        """Open all splits, check their arrays, fit the scalers (unless loaded); once."""
        if self._grids:
            return
        self._check_split_names()
        grids = {
            split: [self._open(name) for name in names] for split, names in self.split_names.items()
        }
        _check_consistent([g for split in grids.values() for g in split])
        self._grids = grids  # sizes (chunk_points, in_memory) derive from it
        try:
            fits = self._scan(grids)
        except InputError:
            self._grids = {}
            raise
        if self.descriptor_scaler is None:
            self.descriptor_scaler, self.ldos_scaler = (fit.scaler() for fit in fits)
            low, high = fits[0].low, fits[0].high
            self.descriptor_range = {"low": torch.from_numpy(low), "high": torch.from_numpy(high)}
        self.grid_spacing = _training_grid_spacing(grids["train"])
        if self.in_memory:
            self._in_memory = {split: _read_split(g) for split, g in grids.items() if g}

    def _scan(self, grids: dict[str, list[SnapshotGrids]]) -> tuple[StandardFit, ScalerFit]:
        """Read every array once in chunks (NaN/inf -> InputError) and fit on train."""
        fits = (StandardFit(), scaler_fit(self.ldos_scaling, "ldos_scaling"))
        for split, split_grids in grids.items():
            for grid in split_grids:
                for array, fit in zip((grid.descriptors, grid.ldos), fits, strict=True):
                    for chunk in array.checked_chunks(self.chunk_points):
                        if split == "train":
                            fit.update(chunk)
        return fits

    def _check_split_names(self) -> None:
        manifest = self.dataset_dir / MANIFEST_FILE
        if not self.dataset_dir.exists() and self.how_to_make:
            raise InputError(
                f"{self.dataset_dir}: data set not found; make it with: {self.how_to_make}"
            )
        if not manifest.exists():
            raise InputError(f"{manifest}: data set manifest missing")
        available = set(dataset_names(self.dataset_dir))
        if not self.split_names["train"]:
            raise InputError("train: the training split lists no snapshots")
        seen: dict[str, str] = {}
        for split, names in self.split_names.items():
            for name in names:
                if name not in available:
                    raise InputError(f"{split}: snapshot {name!r} is not listed in {manifest}")
                if name in seen:
                    raise InputError(f"{split}: snapshot {name!r} is also in split {seen[name]!r}")
                seen[name] = split

    def _open(self, name: str) -> SnapshotGrids:
        snapshot = read_snapshot(self.dataset_dir / name)
        descriptors = cached_descriptors(snapshot, self.descriptor_params, self.cache_dir)
        source = getattr(descriptors, "filename", None) or f"descriptors of {snapshot.path}"
        return SnapshotGrids(
            snapshot,
            GridArray(descriptors, source),
            GridArray(snapshot.ldos_memmap(), snapshot.path / LDOS_FILE),
        )

    # ---- sizes -------------------------------------------------------------------------

    @property
    def n_features(self) -> int:
        """Descriptor components per grid point."""
        return self._first_grid().descriptors.n_columns

    @property
    def n_energies(self) -> int:
        """LDOS energies per grid point."""
        return self._first_grid().ldos.n_columns

    @property
    def bytes_per_point(self) -> int:
        return (self.n_features + self.n_energies) * BYTES_PER_VALUE

    @property
    def in_memory(self) -> bool:
        """Whether all splits fit in the memory budget (and are held in memory)."""
        n_points = sum(g.n_points for split in self._grids.values() for g in split)
        return n_points * self.bytes_per_point <= self.memory_budget_bytes

    @property
    def buffer_points(self) -> int:
        """Grid points per read buffer in lazy mode: half the memory budget."""
        return max(self.batch_size, self.memory_budget_bytes // 2 // self.bytes_per_point)

    @property
    def chunk_points(self) -> int:
        """Consecutive grid points read at once (lazy mode, and the scans of `setup`)."""
        return max(1, self.buffer_points // CHUNKS_PER_BUFFER)

    def _first_grid(self) -> SnapshotGrids:
        if not self._grids:
            raise RuntimeError("LdosDataModule: call setup() first")
        return self._grids["train"][0]

    # ---- batches -----------------------------------------------------------------------

    def train_dataloader(self) -> InMemoryBatches | LazyBatches:
        """Shuffled batches; the epoch counter starts at the trainer's current epoch. Under
        DDP each process takes its own share of every epoch (`batches._ScaledBatches`)."""
        if self.trainer is None:
            return self._batches("train", shuffle=True)
        trainer = self.trainer
        shard = (trainer.global_rank, trainer.world_size)
        return self._batches(
            "train", True, trainer.current_epoch, shard, lambda: trainer.current_epoch
        )

    def val_dataloader(self) -> InMemoryBatches | LazyBatches:
        return self._batches("val", shuffle=False)

    def test_dataloader(self) -> InMemoryBatches | LazyBatches:
        return self._batches("test", shuffle=False)

    def _batches(
        self,
        split: str,
        shuffle: bool,
        first_epoch: int = 0,
        shard: tuple[int, int] = (0, 1),
        epoch_of: Callable[[], int] | None = None,
    ) -> InMemoryBatches | LazyBatches:
        if not self._grids[split]:
            return InMemoryBatches(
                torch.empty(0, self.n_features),
                torch.empty(0, self.n_energies),
                self.scalers,
                self.batch_size,
                shuffle,
                self.seed,
            )
        if self.in_memory:
            inputs, targets = self._held_on_device(split)
            return InMemoryBatches(
                inputs,
                targets,
                self.scalers,
                self.batch_size,
                shuffle,
                self.seed,
                first_epoch,
                shard,
                epoch_of,
            )
        return LazyBatches(
            self._grids[split],
            self.scalers,
            self.batch_size,
            shuffle,
            self.seed,
            self.chunk_points,
            CHUNKS_PER_BUFFER,
            first_epoch,
            shard,
            epoch_of,
        )

    def _held_on_device(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The in-memory tensors of a split, moved once to the trainer's device (a GPU
        then gathers its batches itself, with no copy from the host per batch)."""
        inputs, targets = self._in_memory[split]
        if self.trainer is not None and inputs.device != self.trainer.strategy.root_device:
            device = self.trainer.strategy.root_device
            self._in_memory[split] = inputs, targets = inputs.to(device), targets.to(device)
        return inputs, targets

    @property
    def scalers(self) -> tuple[AffineScaler, AffineScaler]:
        """(descriptor scaler, LDOS scaler)."""
        if self.descriptor_scaler is None or self.ldos_scaler is None:
            raise RuntimeError("LdosDataModule: call setup() first")
        return self.descriptor_scaler, self.ldos_scaler

    # ---- whole snapshots (physics metrics) -------------------------------------------------

    def snapshots(self, split: str) -> list[Snapshot]:
        """The snapshots of a split, in the configured order; ``.ldos()`` is the true LDOS
        in states/(eV Angstrom^3), ``.meta`` the grid, energy grid and DFT references."""
        return [grid.snapshot for grid in self._split(split)]

    def snapshot_inputs(self, split: str, index: int) -> torch.Tensor:
        """Scaled descriptors of a whole snapshot, (n_points, n_features) float32, grid
        points in C order of (nx, ny, nz): reshape a prediction to (nx, ny, nz, n_energies).
        On the device the data is held on (move it to the model's device)."""
        grids = self._split(split)
        if split in self._in_memory:
            start = sum(g.n_points for g in grids[:index])
            raw = self._in_memory[split][0][start : start + grids[index].n_points]
        else:
            grid = grids[index].descriptors
            raw = torch.from_numpy(grid.read(0, grid.n_points))
        return self.scalers[0].transform(raw)

    def snapshot_chunks(
        self, split: str, index: int, chunk_points: int = 65536
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Scaled (descriptors, LDOS) of a whole snapshot, float32, in chunks of
        ``chunk_points`` grid points (C order), read from memory or from disk."""
        grids = self._split(split)
        grid = grids[index]
        descriptor_scaler, ldos_scaler = self.scalers
        start = sum(g.n_points for g in grids[:index])
        for offset in range(0, grid.n_points, chunk_points):
            stop = min(offset + chunk_points, grid.n_points)
            if split in self._in_memory:
                inputs, targets = self._in_memory[split]
                pair = inputs[start + offset : start + stop], targets[start + offset : start + stop]
            else:
                pair = tuple(
                    torch.from_numpy(array.read(offset, stop))
                    for array in (grid.descriptors, grid.ldos)
                )
            yield descriptor_scaler.transform(pair[0]), ldos_scaler.transform(pair[1])

    def snapshot_points(
        self, split: str, index: int, points: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled (descriptors, LDOS) of the given grid points of a snapshot, float32, CPU.

        ``points`` holds grid-point indices (C order of (nx, ny, nz)); row r of both results
        belongs to ``points[r]``. Read through `snapshot_chunks`, so a snapshot on disk is
        never held whole.
        """
        n_points = self._split(split)[index].n_points
        points = torch.as_tensor(points, dtype=torch.int64).cpu()
        if points.ndim != 1 or bool(((points < 0) | (points >= n_points)).any()):
            raise InputError(
                f"points: need grid-point indices in [0, {n_points}) of {split} {index}"
            )
        descriptors = torch.empty(len(points), self.n_features)
        ldos = torch.empty(len(points), self.n_energies)
        offset = 0
        for inputs, targets in self.snapshot_chunks(split, index):
            inside = ((points >= offset) & (points < offset + len(inputs))).nonzero().ravel()
            descriptors[inside] = inputs[points[inside] - offset].cpu()
            ldos[inside] = targets[points[inside] - offset].cpu()
            offset += len(inputs)
        return descriptors, ldos

    def _split(self, split: str) -> list[SnapshotGrids]:
        if split not in SPLITS:
            raise InputError(f"split: expected one of {SPLITS}, got {split!r}")
        self._first_grid()
        return self._grids[split]

    # ---- checkpoint state ----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Descriptor parameters and scaler states, the per-feature range of the training
        descriptors and the training grid spacing (Angstrom along each lattice vector, None
        when the training snapshots differ): plain dicts, lists, tensors and strings."""
        descriptor_scaler, ldos_scaler = self.scalers
        return {
            "descriptor_params": self.descriptor_params.to_dict(),
            "descriptor_scaler": descriptor_scaler.state_dict(),
            "ldos_scaler": ldos_scaler.state_dict(),
            "descriptor_range": self.descriptor_range,
            "grid_spacing_angstrom": self.grid_spacing,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take the scalers of a checkpoint; its descriptor parameters must be this one's."""
        saved = SnapParams.from_dict(state_dict["descriptor_params"])
        if saved != self.descriptor_params:
            raise InputError(
                f"descriptor_params: the checkpoint was trained on {saved.to_dict()}, "
                f"this data module computes {self.descriptor_params.to_dict()}"
            )
        self.descriptor_scaler = AffineScaler.from_state_dict(state_dict["descriptor_scaler"])
        self.ldos_scaler = AffineScaler.from_state_dict(state_dict["ldos_scaler"])
        self.descriptor_range = state_dict.get("descriptor_range")  # absent before ranges


def _check_consistent(grids: list[SnapshotGrids]) -> None:
    """Every snapshot must have the first one's descriptor width and energy grid."""
    first = grids[0]
    for grid in grids[1:]:
        if grid.descriptors.n_columns != first.descriptors.n_columns:
            raise InputError(
                f"{grid.descriptors.source}: {grid.descriptors.n_columns} descriptor columns, "
                f"but {first.descriptors.source} has {first.descriptors.n_columns}"
            )
        ours, theirs = grid.snapshot, first.snapshot
        if ours.meta.energy_grid != theirs.meta.energy_grid:
            raise InputError(
                f"{ours.path / META_FILE}: energy_grid_ev {ours.meta.energy_grid} differs "
                f"from {theirs.meta.energy_grid} of {theirs.path / META_FILE}"
            )


def _training_grid_spacing(grids: list[SnapshotGrids]) -> list[float] | None:
    """The grid spacing shared by the training snapshots (Angstrom per lattice vector), or
    None when they differ by more than 1e-6 relative."""
    spacings = [
        grid_spacing(grid.snapshot.meta.cell, grid.snapshot.meta.grid_shape) for grid in grids
    ]
    if any(not np.allclose(s, spacings[0], rtol=1e-6, atol=0.0) for s in spacings[1:]):
        return None
    return [float(h) for h in spacings[0]]


def _read_split(grids: list[SnapshotGrids]) -> tuple[torch.Tensor, torch.Tensor]:
    """All grid points of a split as (inputs, targets) float32 tensors, unscaled."""
    n_points = sum(g.n_points for g in grids)
    inputs = torch.empty(n_points, grids[0].descriptors.n_columns)
    targets = torch.empty(n_points, grids[0].ldos.n_columns)
    offset = 0
    for grid in grids:
        grid.descriptors.read_into(0, inputs[offset : offset + grid.n_points].numpy())
        grid.ldos.read_into(0, targets[offset : offset + grid.n_points].numpy())
        offset += grid.n_points
    return inputs, targets
