"""Inference: a trained checkpoint turns atoms into an LDOS, a density and energies.

    predictor = LdosPredictor.from_checkpoint("logs/train/runs/.../checkpoints/best.ckpt")
    prediction = predictor.predict(atoms, grid_shape=(24, 24, 24))
    prediction.write("out/")   # density.cube + energies.json

The checkpoint holds the network weights and architecture, the descriptor parameters and
both scalers (saved by the data module) and the `EnergySetup` (energy grid, temperature,
valence charges, xc functional); it is read with ``torch.load(weights_only=True)``. The
same `predict_ldos` evaluates validation and test snapshots during training, so a
prediction from the checkpoint reproduces the logged test metrics exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ase
import ase.io.cube
import numpy as np
import torch
from torch import nn

from ldos_surrogate.data.scalers import AffineScaler
from ldos_surrogate.descriptors import SnapParams, compute_snap_grid
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_path, atomic_write_text
from ldos_surrogate.models.metrics import EnergySetup, LdosEnergies, ldos_energies
from ldos_surrogate.models.network import LdosNetwork, network_from_config
from ldos_surrogate.physics.constants import BOHR_ANGSTROM
from ldos_surrogate.physics.dos import electron_density

DATAMODULE_STATE_KEY = "LdosDataModule"  # where Lightning stores the data module's state
DENSITY_CUBE = "density.cube"
ENERGIES_JSON = "energies.json"


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
    """A predicted LDOS (nx, ny, nz, n_energies), states/(eV Angstrom^3), with its density
    (nx, ny, nz), electrons/Angstrom^3 (Eq. 6), and energies (eV)."""

    atoms: ase.Atoms
    ldos: np.ndarray
    density: np.ndarray
    n_electrons: float
    energies: LdosEnergies

    def energies_json(self) -> dict[str, Any]:
        """Fermi level and energies in eV, the energies also in eV/atom (JSON-able)."""
        energies = asdict(self.energies)
        n_atoms = energies.pop("n_atoms")
        return {
            "n_atoms": n_atoms,
            "n_electrons": self.n_electrons,
            "grid_shape": list(self.density.shape),
            "energies_ev": energies,
            "energies_ev_per_atom": {
                key: value / n_atoms
                for key, value in energies.items()
                if key != "fermi_energy_ev" and value is not None
            },
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
    """A trained network with its descriptor settings, scalers and energy setup."""

    def __init__(
        self,
        network: LdosNetwork,
        descriptor_params: SnapParams,
        scalers: tuple[AffineScaler, AffineScaler],
        setup: EnergySetup,
        batch_size: int,
    ) -> None:
        self.network = network.eval()
        self.descriptor_params = descriptor_params
        self.descriptor_scaler, self.ldos_scaler = scalers
        self.setup = setup
        self.batch_size = batch_size

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
        return cls(
            network.to(device),
            SnapParams.from_dict(data_state["descriptor_params"]),
            (
                AffineScaler.from_state_dict(data_state["descriptor_scaler"]),
                AffineScaler.from_state_dict(data_state["ldos_scaler"]),
            ),
            EnergySetup.from_dict(hparams["energy_setup"]),
            int(hparams["inference_batch_size"]),
        )

    def ldos(self, descriptors: np.ndarray) -> np.ndarray:
        """LDOS (nx, ny, nz, n_energies) float32 from unscaled descriptors (nx, ny, nz, n_f)."""
        if descriptors.ndim != 4 or descriptors.shape[3] != self.descriptor_scaler.n_columns:
            raise InputError(
                f"descriptors: expected (nx, ny, nz, {self.descriptor_scaler.n_columns}), "
                f"got {descriptors.shape}"
            )
        rows = torch.from_numpy(np.array(descriptors, np.float32)).reshape(-1, descriptors.shape[3])
        scaled = self.descriptor_scaler.transform(rows)
        ldos = predict_ldos(self.network, scaled, self.ldos_scaler, self.batch_size)
        return ldos.numpy().reshape(*descriptors.shape[:3], -1)

    def predict(self, atoms: ase.Atoms, grid_shape: tuple[int, int, int]) -> Prediction:
        """Descriptors by LAMMPS on the grid, then `predict_from_descriptors`."""
        descriptors = compute_snap_grid(atoms, grid_shape, self.descriptor_params)
        return self.predict_from_descriptors(atoms, descriptors)

    def predict_from_descriptors(self, atoms: ase.Atoms, descriptors: np.ndarray) -> Prediction:
        """LDOS, density and energies of ``atoms`` from its descriptor grid."""
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
        return Prediction(atoms, ldos, density, n_electrons, energies)
