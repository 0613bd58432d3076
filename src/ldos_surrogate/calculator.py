"""An ASE calculator: a trained LDOS model as the energy of an ``ase.Atoms``.

    from ldos_surrogate.calculator import LdosCalculator

    atoms.calc = LdosCalculator("best.ckpt")
    energy = atoms.get_potential_energy()   # total free energy A (Eq. 7), eV
    atoms.calc.results["energies_ev_per_atom"], atoms.calc.results["ood_fraction"]

``energy`` and ``free_energy`` are the total free energy A = E - TS of the electrons at the
training temperature (Eq. 7; what QE prints as "!    total energy" with smearing). Where Eq.
(7) cannot be evaluated from the LDOS (ultrasoft or core-corrected pseudopotentials, see
`physics.pseudopotential`), they are the band energy E_b instead: ``results["energy_kind"]``
says which, and a warning is logged. No forces or stress: the model gives energies only.
Each calculation is one streamed prediction (`LdosPredictor.predict`) on the grid of the
training spacing unless ``grid`` is given.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ase
from ase.calculators.calculator import Calculator, all_changes

from ldos_surrogate.models.ood import DEFAULT_OOD_THRESHOLD
from ldos_surrogate.models.predictor import LdosPredictor
from ldos_surrogate.models.streaming import DEFAULT_MEMORY_BUDGET_MB

log = logging.getLogger(__name__)


class LdosCalculator(Calculator):
    """ASE calculator of the total free energy (eV) from an LDOS model checkpoint.

    Args:
        checkpoint: a ``.ckpt`` written by train.py.
        grid: real-space grid (nx, ny, nz); default: the checkpoint's training spacing.
        device: torch device of the network ("cpu", "cuda").
        memory_budget_mb: MiB the grid arrays of one piece may use.
        ood_threshold: fraction of grid points outside the training descriptor range
            above which a warning is logged.
    """

    implemented_properties = ["energy", "free_energy"]

    def __init__(
        self,
        checkpoint: str | Path,
        grid: tuple[int, int, int] | None = None,
        device: str = "cpu",
        memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
        ood_threshold: float = DEFAULT_OOD_THRESHOLD,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.predictor = LdosPredictor.from_checkpoint(checkpoint, device=device)
        self.grid = grid
        self.memory_budget_mb = memory_budget_mb
        self.ood_threshold = ood_threshold

    def calculate(
        self,
        atoms: ase.Atoms | None = None,
        properties: list[str] | tuple[str, ...] = ("energy",),
        system_changes: list[str] = all_changes,
    ) -> None:
        super().calculate(atoms, properties, system_changes)
        prediction = self.predictor.predict(
            self.atoms,
            self.grid,
            memory_budget_mb=self.memory_budget_mb,
            ood_threshold=self.ood_threshold,
        )
        for line in prediction.warnings:
            log.warning(line)
        summary = prediction.energies_json()
        total = prediction.energies.total_free_energy_ev
        kind = "total_free_energy" if total is not None else "band_energy"
        energy = total if total is not None else prediction.energies.band_energy_ev
        ood = summary["out_of_distribution"]
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energy_kind": kind,
            "fermi_energy_ev": prediction.energies.fermi_energy_ev,
            "energies_ev": summary["energies_ev"],
            "energies_ev_per_atom": summary["energies_ev_per_atom"],
            "ood_fraction": None if ood is None else ood["fraction_outside_training_range"],
            "out_of_distribution": ood,
            "grid_shape": tuple(summary["grid_shape"]),
            "warnings": list(prediction.warnings),
        }
