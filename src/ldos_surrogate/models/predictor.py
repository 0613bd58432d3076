"""Inference: a trained checkpoint turns atoms into a density, energies and (if asked) an LDOS.

    predictor = LdosPredictor.from_checkpoint("logs/train/runs/.../checkpoints/best.ckpt")
    prediction = predictor.predict(atoms)   # the grid of the training spacing
    prediction.write("out/")   # density.cube + energies.json

The checkpoint holds the network weights and architecture, the descriptor parameters, both
scalers, the per-feature range of the training descriptors and the training grid spacing
(saved by the data module) and the `EnergySetup` (energy grid, temperature, valence
charges, xc functional); it is read with ``torch.load(weights_only=True)``. `predict`
streams the cell through the network in pieces (`streaming`), so memory stays bounded
whatever the cell; `predict_from_descriptors` is the whole-cell path for a descriptor grid
already in memory, and gives the same energies. The same `predict_ldos` evaluates
validation and test snapshots during training, so a prediction from the checkpoint
reproduces the logged test metrics exactly.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ase
import ase.io.cube
import numpy as np
import torch
from torch import nn

from ldos_surrogate.data.scalers import AffineScaler
from ldos_surrogate.descriptors import SnapParams
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_path, atomic_write_text
from ldos_surrogate.models.metrics import EnergySetup, LdosEnergies, ldos_energies
from ldos_surrogate.models.network import LdosNetwork, network_from_config
from ldos_surrogate.models.ood import DEFAULT_OOD_THRESHOLD, OutOfRange, TrainingRange
from ldos_surrogate.models.streaming import DEFAULT_MEMORY_BUDGET_MB, stream_prediction
from ldos_surrogate.mpi import Processes, processes
from ldos_surrogate.physics.constants import BOHR_ANGSTROM
from ldos_surrogate.physics.dos import electron_density
from ldos_surrogate.physics.grid import grid_for_spacing, grid_spacing

DATAMODULE_STATE_KEY = "LdosDataModule"  # where Lightning stores the data module's state
DENSITY_CUBE = "density.cube"
ENERGIES_JSON = "energies.json"
LDOS_NPY = "ldos.npy"
SPACING_TOLERANCE = 0.01
"""Relative difference of grid spacing from the training spacing that draws a warning."""


def predict_ldos(
    network: nn.Module,
    scaled_descriptors: torch.Tensor,
    ldos_scaler: AffineScaler,
    batch_size: int,
) -> torch.Tensor:
    """Physical LDOS (n_points, n_energies) float32 on the CPU, states/(eV Angstrom^3), from
    scaled descriptors (n_points, n_features): batches of ``batch_size`` points, no autograd,
    full precision (no autocast), on the network's device."""
    device = next(network.parameters()).device
    was_training = network.training
    network.eval()
    ldos = torch.empty(len(scaled_descriptors), ldos_scaler.n_columns)
    with torch.no_grad(), torch.autocast(device.type, enabled=False):
        for start in range(0, len(scaled_descriptors), batch_size):
            batch = scaled_descriptors[start : start + batch_size].to(device)
            ldos[start : start + len(batch)] = ldos_scaler.inverse_transform(network(batch)).cpu()
    network.train(was_training)
    return ldos


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Lightning checkpoint of this project, read with ``weights_only=True``."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as error:
        raise InputError(f"{path}: checkpoint not found") from error
    except Exception as error:  # torch raises many types for corrupt or foreign files
        raise InputError(f"{path}: not a loadable checkpoint ({error})") from error
    for key in ("hyper_parameters", "state_dict", DATAMODULE_STATE_KEY):
        if key not in checkpoint:
            raise InputError(f"{path}: not an LDOS model checkpoint (no {key!r} entry)")
    return checkpoint


@dataclass(frozen=True)
class Prediction:
    """A predicted density (nx, ny, nz), electrons/Angstrom^3 (Eq. 6), and energies (eV);
    the LDOS (nx, ny, nz, n_energies), states/(eV Angstrom^3), only when it was kept
    (in memory from `predict_from_descriptors`, memory-mapped from ``predict(ldos_path=)``).
    ``out_of_range``: grid points outside the training descriptors (None for checkpoints
    without the range); ``warnings``: one line each (grid spacing, out of distribution,
    no total energy); ``timings_s``: wall time per stage."""

    atoms: ase.Atoms
    density: np.ndarray
    n_electrons: float
    energies: LdosEnergies
    ldos: np.ndarray | None = None
    training_spacing: tuple[float, ...] | None = None
    out_of_range: OutOfRange | None = None
    ood_threshold: float = DEFAULT_OOD_THRESHOLD
    warnings: tuple[str, ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict, compare=False)

    def energies_json(self) -> dict[str, Any]:
        """Fermi level and energies in eV, the energies also in eV/atom, the grid and its
        spacing beside the training spacing, the out-of-distribution count (JSON-able)."""
        energies = asdict(self.energies)
        n_atoms = energies.pop("n_atoms")
        spacing = grid_spacing(self.atoms.cell.array, self.density.shape)
        return {
            "n_atoms": n_atoms,
            "n_electrons": self.n_electrons,
            "grid_shape": list(self.density.shape),
            "grid_spacing_angstrom": [float(h) for h in spacing],
            "training_grid_spacing_angstrom": None
            if self.training_spacing is None
            else list(self.training_spacing),
            "energies_ev": energies,
            "energies_ev_per_atom": {
                key: value / n_atoms
                for key, value in energies.items()
                if key != "fermi_energy_ev" and value is not None
            },
            "out_of_distribution": None
            if self.out_of_range is None
            else self.out_of_range.to_json(self.ood_threshold),
            "warnings": list(self.warnings),
        }

    def write(self, out_dir: str | Path) -> tuple[Path, Path]:
        """Write ``density.cube`` (electrons/Bohr^3, the cube convention) and
        ``energies.json`` into ``out_dir``, each atomically; return their paths."""
        out_dir = Path(out_dir)
        cube, energies = out_dir / DENSITY_CUBE, out_dir / ENERGIES_JSON
        with atomic_path(cube) as tmp, open(tmp, "w") as handle:
            ase.io.cube.write_cube(
                handle,
                self.atoms,
                data=self.density * BOHR_ANGSTROM**3,
                comment="predicted electron density, electrons/Bohr^3",
            )
        atomic_write_text(energies, json.dumps(self.energies_json(), indent=2))
        return cube, energies


class LdosPredictor:
    """A trained network with its descriptor settings, scalers, energy setup, and (for
    checkpoints that saved them) the training descriptor range and grid spacing."""

    def __init__(
        self,
        network: LdosNetwork,
        descriptor_params: SnapParams,
        scalers: tuple[AffineScaler, AffineScaler],
        setup: EnergySetup,
        batch_size: int,
        training_spacing: tuple[float, float, float] | None = None,
        training_range: TrainingRange | None = None,
        source: str = "checkpoint",
    ) -> None:
        self.network = network.eval()
        self.descriptor_params = descriptor_params
        self.descriptor_scaler, self.ldos_scaler = scalers
        self.setup = setup
        self.batch_size = batch_size
        self.training_spacing = training_spacing
        self.training_range = training_range
        self.source = source

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu") -> LdosPredictor:
        checkpoint = load_checkpoint(path)
        hparams = checkpoint["hyper_parameters"]
        data_state = checkpoint[DATAMODULE_STATE_KEY]
        network = network_from_config(
            hparams["network"], hparams["n_features"], hparams["n_energies"]
        )
        prefix = "network."
        network.load_state_dict(
            {
                key.removeprefix(prefix): value
                for key, value in checkpoint["state_dict"].items()
                if key.startswith(prefix)
            }
        )
        try:
            network = network.to(device)
        except (RuntimeError, AssertionError) as error:  # unknown or absent device
            raise InputError(f"--device {device}: not usable here ({error})") from error
        descriptor_scaler = AffineScaler.from_state_dict(data_state["descriptor_scaler"])
        spacing, value_range = (
            data_state.get("grid_spacing_angstrom"),
            data_state.get("descriptor_range"),
        )
        return cls(
            network,
            SnapParams.from_dict(data_state["descriptor_params"]),
            (descriptor_scaler, AffineScaler.from_state_dict(data_state["ldos_scaler"])),
            EnergySetup.from_dict(hparams["energy_setup"]),
            int(hparams["inference_batch_size"]),
            None if spacing is None else tuple(float(h) for h in spacing),
            None
            if value_range is None
            else TrainingRange.from_state(value_range, descriptor_scaler),
            str(path),
        )

    def grid_for(
        self, atoms: ase.Atoms, grid_shape: tuple[int, int, int] | None = None
    ) -> tuple[tuple[int, int, int], str | None]:
        """The grid to predict ``atoms`` on (``grid_shape``, or the one of the training
        spacing), and a one-line warning when its spacing differs from the training spacing
        by more than 1% along a lattice vector (None otherwise)."""
        if grid_shape is None:
            if self.training_spacing is None:
                raise InputError(
                    f"{self.source}: the checkpoint does not record the training grid spacing "
                    "(saved since this version, or its training snapshots differ); give the "
                    "grid (--grid NX NY NZ)"
                )
            grid_shape = grid_for_spacing(atoms.cell.array, self.training_spacing)
        grid_shape = tuple(int(n) for n in grid_shape)
        if len(grid_shape) != 3 or min(grid_shape) < 1:
            raise InputError(f"grid: need three positive integers, got {grid_shape}")
        if self.training_spacing is None:
            return grid_shape, None
        spacing = grid_spacing(atoms.cell.array, grid_shape)
        training = np.asarray(self.training_spacing)
        if np.all(np.abs(spacing / training - 1.0) <= SPACING_TOLERANCE):
            return grid_shape, None
        return grid_shape, (
            f"grid {'x'.join(map(str, grid_shape))} has a spacing of "
            f"{' '.join(f'{h:.4f}' for h in spacing)} Angstrom, the model was trained at "
            f"{' '.join(f'{h:.4f}' for h in training)} Angstrom: the density terms of the "
            "energy change with the grid"
        )

    def ldos_of_scaled(self, scaled: torch.Tensor) -> torch.Tensor:
        """LDOS (n_points, n_energies) float32 from scaled descriptors (n_points, n_features)."""
        return predict_ldos(self.network, scaled, self.ldos_scaler, self.batch_size)

    def ldos(self, descriptors: np.ndarray) -> np.ndarray:
        """LDOS (nx, ny, nz, n_energies) float32 from unscaled descriptors (nx, ny, nz, n_f)."""
        if descriptors.ndim != 4 or descriptors.shape[3] != self.descriptor_scaler.n_columns:
            raise InputError(
                f"descriptors: expected (nx, ny, nz, {self.descriptor_scaler.n_columns}), "
                f"got {descriptors.shape}"
            )
        rows = torch.from_numpy(np.array(descriptors, np.float32)).reshape(-1, descriptors.shape[3])
        ldos = self.ldos_of_scaled(self.descriptor_scaler.transform(rows))
        return ldos.numpy().reshape(*descriptors.shape[:3], -1)

    def predict(
        self,
        atoms: ase.Atoms,
        grid_shape: tuple[int, int, int] | None = None,
        memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
        work_dir: str | Path | None = None,
        ldos_path: str | Path | None = None,
        ood_threshold: float = DEFAULT_OOD_THRESHOLD,
        progress: bool = False,
        ranks: Processes | None = None,
    ) -> Prediction:
        """Density and energies of ``atoms``, streamed through the network in pieces of at
        most ``memory_budget_mb`` MiB (`streaming`); the grid by default from the training
        spacing. ``work_dir`` holds the pieces' descriptors while it runs (default: a
        temporary folder; give one to resume a killed run); ``ldos_path``: also write the
        LDOS there (memory-mapped ``.npy``). Under ``mpiexec`` the ranks share the pieces."""
        ranks = processes() if ranks is None else ranks
        grid_shape, spacing_warning = self.grid_for(atoms, grid_shape)
        n_electrons = self.setup.n_electrons(atoms)
        with tempfile.TemporaryDirectory(prefix="ldos_pieces.") as scratch:
            folder = Path(work_dir) if work_dir is not None else Path(scratch) / "pieces"
            streamed = stream_prediction(
                self,
                atoms,
                grid_shape,
                Path(ranks.broadcast(str(folder))),
                memory_budget_mb,
                ranks,
                None if ldos_path is None else Path(ldos_path),
                progress,
            )
        ldos = None if ldos_path is None else np.load(ldos_path, mmap_mode="r")
        return self._prediction(
            atoms,
            streamed.density,
            n_electrons,
            streamed.energies,
            ldos,
            streamed.out_of_range,
            ood_threshold,
            spacing_warning,
            streamed.timings_s,
        )

    def predict_from_descriptors(self, atoms: ase.Atoms, descriptors: np.ndarray) -> Prediction:
        """LDOS, density and energies of ``atoms`` from its whole descriptor grid in memory."""
        ldos = self.ldos(descriptors)
        n_electrons = self.setup.n_electrons(atoms)
        setup = self.setup
        energies, density = ldos_energies(
            ldos,
            atoms.cell.array,
            setup.energy_grid,
            setup.temperature_k,
            n_electrons,
            atoms,
            setup,
            with_total=True,
        )
        if density is None:
            density = electron_density(
                ldos, setup.energy_grid.energies, energies.fermi_energy_ev, setup.temperature_k
            )
        out_of_range = None
        if self.training_range is not None:
            rows = torch.from_numpy(np.array(descriptors, np.float32)).reshape(
                -1, descriptors.shape[3]
            )
            out_of_range = self.training_range.count(rows)
        _, spacing_warning = self.grid_for(atoms, descriptors.shape[:3])
        return self._prediction(
            atoms,
            density,
            n_electrons,
            energies,
            ldos,
            out_of_range,
            DEFAULT_OOD_THRESHOLD,
            spacing_warning,
            {},
        )

    def _prediction(
        self,
        atoms: ase.Atoms,
        density: np.ndarray,
        n_electrons: float,
        energies: LdosEnergies,
        ldos: np.ndarray | None,
        out_of_range: OutOfRange | None,
        ood_threshold: float,
        spacing_warning: str | None,
        timings_s: dict[str, float],
    ) -> Prediction:
        """A `Prediction` with its warnings: grid spacing, out of distribution, no Eq. (7)."""
        warnings = [spacing_warning]
        if out_of_range is not None:
            warnings.append(out_of_range.warning(ood_threshold))
        if energies.total_free_energy_ev is None:
            warnings.append(
                f"total free energy not evaluated: {self.setup.no_total_reason}; band energy only"
            )
        return Prediction(
            atoms,
            density,
            n_electrons,
            energies,
            ldos,
            self.training_spacing,
            out_of_range,
            ood_threshold,
            tuple(w for w in warnings if w),
            timings_s,
        )
