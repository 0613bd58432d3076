"""Streaming inference: a cell of any size, piece by piece, in bounded memory.

The grid is cut into interleaved pieces that fit the memory budget (`descriptors.pieces`).

- Pass 1, per piece: SNAP descriptors (LAMMPS; stored on disk) -> counted against the
  training range (`ood`) -> scaled -> network -> LDOS -> the piece's DOS (Eq. 5). The DOS of the
  cell is the sum over pieces; from it the Fermi level, E_b and -TS.
- Pass 2, per piece: descriptors read back -> network -> LDOS -> density (Eq. 6) at that
  Fermi level, stored in place (8 bytes per grid point), and the LDOS written into a
  memory-mapped ``.npy`` only when asked for. Then the density terms and Ewald (Eq. 7).

The density needs the Fermi level of the whole cell, hence two passes; the network runs
twice, LAMMPS (the costly part) once. The LDOS of the cell is never in memory. Under
``mpiexec -n N`` the pieces go round-robin to the ranks, each with its own LAMMPS; the
pieces' DOS and densities meet on rank 0 and are summed in piece order, so the energies
equal those of one process bit for bit.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import ase
import numpy as np
import torch
from tqdm.auto import tqdm

from ldos_surrogate.descriptors.pieces import GridPieces, PieceStore, plan_pieces
from ldos_surrogate.descriptors.snap import N_LOCAL_COLUMNS
from ldos_surrogate.models.metrics import LdosEnergies, energies_from_terms
from ldos_surrogate.models.ood import OutOfRange
from ldos_surrogate.mpi import Processes
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.dos import density_of_states, electron_density

if TYPE_CHECKING:
    from ldos_surrogate.models.predictor import LdosPredictor

DEFAULT_MEMORY_BUDGET_MB = 1024.0
"""MiB the grid-sized arrays of one piece may occupy (descriptors, LAMMPS's, the LDOS)."""


def bytes_per_point(n_features: int, n_energies: int) -> int:
    """Memory one grid point of a piece needs at the largest of three moments: inside
    LAMMPS (its float64 row of sna/grid/local and our float32 copy), the range count
    (descriptors and three float32 temporaries), or the network pass (descriptors, scaled
    descriptors and LDOS, float32, and the density, float64)."""
    lammps = 8 * (N_LOCAL_COLUMNS + n_features) + 4 * n_features
    range_count = 4 * 4 * n_features
    network = 4 * (2 * n_features + n_energies) + 8
    return max(lammps, range_count, network)


@dataclass
class StreamResult:
    """What the passes over the pieces give: energies (eV), the density (nx, ny, nz,
    electrons/Angstrom^3), the out-of-range count and wall times per stage (s)."""

    energies: LdosEnergies
    density: np.ndarray
    out_of_range: OutOfRange | None
    timings_s: dict[str, float] = field(default_factory=dict)


def stream_prediction(
    predictor: LdosPredictor,
    atoms: ase.Atoms,
    grid_shape: tuple[int, int, int],
    work_dir: Path,
    memory_budget_mb: float,
    processes: Processes,
    ldos_path: Path | None = None,
    progress: bool = False,
) -> StreamResult:
    """Energies and density of ``atoms`` on ``grid_shape`` in pieces (module docstring);
    the pieces' descriptors live in ``work_dir`` (removed at the end; a killed run resumes
    from the pieces there). Every rank returns the same result."""
    setup = predictor.setup
    n_features, n_energies = predictor.descriptor_scaler.n_columns, predictor.ldos_scaler.n_columns
    pieces = plan_pieces(
        grid_shape,
        bytes_per_point(n_features, n_energies),
        memory_budget_mb * 2**20,
        processes.size,
    )
    store = PieceStore(work_dir, atoms, pieces, predictor.descriptor_params)
    if processes.rank == 0:
        store.prepare()
    processes.broadcast(None)  # the folder is ready before any rank writes to it
    mine = range(processes.rank, pieces.n_pieces, processes.size)
    clock = _Clock()
    cell, energies_ev = atoms.cell.array, setup.energy_grid.energies

    first = []
    for index, ldos, counted in _ldos_of_pieces(
        predictor, store, mine, clock, processes, progress, 1
    ):
        with clock("dos_and_density"):
            first.append((index, density_of_states(ldos, cell), counted))
        del ldos  # freed before the next piece is computed
    gathered = processes.gather(first)
    terms = out_of_range = None
    if processes.rank == 0:
        parts = sorted((part for rank_parts in gathered for part in rank_parts), key=_index)
        with clock("dos_and_density"):
            dos = sum(part[1] for part in parts) / pieces.n_pieces
            terms = band_terms(dos, energies_ev, setup.temperature_k, setup.n_electrons(atoms))
        counts = [part[2] for part in parts]
        out_of_range = None if counts[0] is None else sum(counts[1:], counts[0])
    terms = processes.broadcast(terms)

    if ldos_path is not None and processes.rank == 0:
        _create_ldos_file(ldos_path, grid_shape, n_energies)
    processes.broadcast(None)
    second = []
    for index, ldos, _ in _ldos_of_pieces(predictor, store, mine, clock, processes, progress, 2):
        with clock("dos_and_density"):
            second.append(
                (
                    index,
                    electron_density(
                        ldos, energies_ev, float(terms.fermi_energy_ev), setup.temperature_k
                    ),
                )
            )
        if ldos_path is not None:
            _write_ldos_piece(ldos_path, pieces, index, ldos)
        del ldos
    gathered = processes.gather(second)
    result = None
    if processes.rank == 0:
        density = np.empty(grid_shape, dtype=np.float64)
        for index, part in (part for rank_parts in gathered for part in rank_parts):
            density[pieces.slices(index)] = part
        with clock("total_energy"):
            energies = energies_from_terms(terms, density, cell, atoms, setup)
        if ldos_path is not None:
            _ldos_partial(ldos_path).replace(ldos_path)
        store.remove()
        result = StreamResult(energies, density, out_of_range, clock.totals)
    return processes.broadcast(result)


def _ldos_of_pieces(
    predictor: LdosPredictor,
    store: PieceStore,
    indices: range,
    clock: _Clock,
    processes: Processes,
    progress: bool,
    pass_number: int,
) -> Iterator[tuple[int, np.ndarray, OutOfRange | None]]:
    """(index, LDOS (piece shape x energies), out-of-range count) of each of this rank's
    pieces: descriptors (computed or read back), scaled, through the network. The count:
    pass 1 only, when the checkpoint has the training range; else None."""
    pieces = store.pieces
    label = "descriptors + network" if pass_number == 1 else "density"
    with tqdm(
        total=len(indices) * pieces.points_per_piece,
        desc=f"pass {pass_number}/2: {label}",
        unit="points",
        unit_scale=True,
        disable=not progress or processes.rank != 0,
    ) as bar:
        for index in indices:
            with clock("descriptors"):
                descriptors = store.descriptors(index, processes.lammps_comm)
            rows = torch.from_numpy(descriptors.reshape(-1, descriptors.shape[-1]))
            counted = None
            if pass_number == 1 and predictor.training_range is not None:
                counted = predictor.training_range.count(rows)
            with clock("network"):
                scaled = predictor.descriptor_scaler.transform(rows)
                ldos = predictor.ldos_of_scaled(scaled).numpy()
            bar.update(pieces.points_per_piece)
            yield index, ldos.reshape(*pieces.piece_shape, -1), counted
            del descriptors, rows, scaled, ldos  # not alive while the next piece is computed


def _index(part: tuple) -> int:
    return part[0]


def _ldos_partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _create_ldos_file(path: Path, grid_shape: tuple[int, int, int], n_energies: int) -> None:
    """An empty (nx, ny, nz, n_energies) float32 ``.npy`` under a partial name, renamed to
    ``path`` when every piece is in."""
    partial = _ldos_partial(path)
    partial.parent.mkdir(parents=True, exist_ok=True)
    np.lib.format.open_memmap(
        partial, mode="w+", dtype=np.float32, shape=(*grid_shape, n_energies)
    ).flush()


def _write_ldos_piece(path: Path, pieces: GridPieces, index: int, ldos: np.ndarray) -> None:
    """Write one piece into the memory-mapped LDOS file, mapped only while it is written
    (so its pages do not stay in this process's memory)."""
    mapped = np.lib.format.open_memmap(_ldos_partial(path), mode="r+")
    mapped[pieces.slices(index)] = ldos
    mapped.flush()
    del mapped


class _Clock:
    """Wall time per stage, summed over its calls: ``with clock("stage"): ...``."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.totals[stage] = self.totals.get(stage, 0.0) + elapsed
