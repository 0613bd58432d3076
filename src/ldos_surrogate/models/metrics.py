"""Physical metrics of a predicted LDOS: energies from it, and their errors against the DFT LDOS.

For one snapshot, both the predicted and the DFT LDOS go through the same physics
(`ldos_surrogate.physics`): DOS (seed Eq. 5), Fermi level fitted to the electron count,
band energy E_b and -TS, and, where the pseudopotentials allow it, the density (Eq. 6) and
the total free energy A (Eq. 7). The errors are predicted minus DFT-LDOS values, so they
measure the network alone, not the energy grid or broadening of the data (which affect both
sides alike). Searches minimise the mean absolute band-energy error over the validation
snapshots (seed Eq. 12), in meV/atom.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ase
import numpy as np
import torch

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import EnergyGrid, Snapshot
from ldos_surrogate.physics.band_energy import BandTerms, band_terms
from ldos_surrogate.physics.core_charge import RadialCoreCharge, core_density
from ldos_surrogate.physics.dos import density_of_states, electron_density
from ldos_surrogate.physics.integrals import occupation_weights
from ldos_surrogate.physics.pseudopotential import (
    core_charges,
    pseudopotentials_for,
    why_no_total_energy,
)
from ldos_surrogate.physics.total_energy import total_free_energy

MEV_PER_EV = 1000.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnergySetup:
    """What turns an LDOS of a cell into energies, besides the LDOS and the atoms.

    energy_grid, temperature_k: of the training data (eV, K).
    valence: electrons per atom by element: the pseudopotential's Z_valence, or fitted to the
        training snapshots' electron counts when the files are not found (empty when the
        compositions cannot tell the elements apart).
    functional: xc functional of Eq. (7) ("lda-pz", "pbe"), or None when Eq. (7) cannot be
        evaluated from the LDOS; then ``no_total_reason`` says why.
    core_charges: partial core charge by element, for pseudopotentials with a nonlinear
        core correction (E_xc of valence + core in Eq. 7).
    """

    energy_grid: EnergyGrid
    temperature_k: float
    valence: dict[str, float]
    functional: str | None
    no_total_reason: str | None = None
    core_charges: dict[str, RadialCoreCharge] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_snapshots(
        cls, snapshots: list[Snapshot], pseudo_dirs: Iterable[str | Path] = ()
    ) -> EnergySetup:
        """From the training snapshots and the pseudopotential files named in their
        provenance (looked up in ``pseudo_dirs``, next to the data, and QE's default places)."""
        first = snapshots[0]
        elements = sorted({s for snapshot in snapshots for s in _symbols(snapshot.atoms())})
        pseudos, reason = pseudopotentials_for(
            first.meta.provenance.get("pseudopotentials") or {},
            elements,
            [*map(Path, pseudo_dirs), first.path, first.path.parent],
        )
        cores = {}
        if pseudos is None:
            valence, functional = _fitted_valence(snapshots, elements), None
        else:
            valence = {element: pseudos[element].z_valence for element in elements}
            reason = why_no_total_energy(pseudos.values())
            functional = None if reason else pseudos[elements[0]].functional
            cores = core_charges(pseudos)
        return cls(
            energy_grid=first.meta.energy_grid,
            temperature_k=first.meta.temperature_k,
            valence=valence,
            functional=functional,
            no_total_reason=reason,
            core_charges=cores,
        )

    def n_electrons(self, atoms: ase.Atoms) -> float:
        """Valence electrons of ``atoms``."""
        missing = sorted(set(_symbols(atoms)) - set(self.valence))
        if missing:
            raise InputError(
                f"atoms: elements {missing} were not in the training data "
                f"(the model knows {sorted(self.valence)})"
            )
        return float(sum(self.valence[symbol] for symbol in _symbols(atoms)))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form, as saved in checkpoints."""
        data = asdict(self)
        data["energy_grid"] = asdict(self.energy_grid)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergySetup:
        cores = {e: RadialCoreCharge(**c) for e, c in data.get("core_charges", {}).items()}
        return cls(
            **{**data, "energy_grid": EnergyGrid(**data["energy_grid"]), "core_charges": cores}
        )


def _symbols(atoms: ase.Atoms) -> list[str]:
    return atoms.get_chemical_symbols()


def _fitted_valence(snapshots: list[Snapshot], elements: list[str]) -> dict[str, float]:
    """Electrons per atom by element, least-squares fitted to the snapshots' electron counts
    (empty when the compositions cannot tell the elements apart)."""
    counts = np.array([[_symbols(s.atoms()).count(e) for e in elements] for s in snapshots])
    electrons = np.array([s.meta.n_electrons for s in snapshots])
    solution, _, rank, _ = np.linalg.lstsq(counts, electrons, rcond=None)
    if rank < len(elements):
        return {}
    # electron counts are whole or simple numbers: round away the least-squares noise
    return {
        element: round(float(value), 6) for element, value in zip(elements, solution, strict=True)
    }


@dataclass(frozen=True)
class LdosEnergies:
    """Energies (eV) from an LDOS of a cell of ``n_atoms`` atoms."""

    n_atoms: int
    fermi_energy_ev: float
    band_energy_ev: float
    entropy_contribution_ev: float
    total_free_energy_ev: float | None


def ldos_energies(
    ldos: np.ndarray,
    cell: np.ndarray,
    energy_grid: EnergyGrid,
    temperature_k: float,
    n_electrons: float,
    atoms: ase.Atoms,
    setup: EnergySetup,
    with_total: bool,
) -> tuple[LdosEnergies, np.ndarray | None]:
    """Fermi level, E_b, -TS and (``with_total`` and when the setup allows) A of Eq. (7), with
    the density (electrons/Angstrom^3) it used; ``ldos`` (nx, ny, nz, n_energies)."""
    energies = energy_grid.energies
    terms = band_terms(density_of_states(ldos, cell), energies, temperature_k, n_electrons)
    density = None
    if with_total and setup.functional is not None:
        density = electron_density(ldos, energies, terms.fermi_energy_ev, temperature_k)
    return energies_from_terms(terms, density, cell, atoms, setup), density


def energies_from_terms(
    terms: BandTerms,
    density: np.ndarray | None,
    cell: np.ndarray,
    atoms: ase.Atoms,
    setup: EnergySetup,
) -> LdosEnergies:
    """The energies of ``terms`` (DOS-derived, `band_terms`), with A of Eq. (7) from the
    density at their Fermi level when one is given and the setup allows it."""
    total = None
    if density is not None and setup.functional is not None:
        charges = np.array([setup.valence[symbol] for symbol in _symbols(atoms)])
        core = core_density(
            setup.core_charges, _symbols(atoms), atoms.positions, cell, density.shape
        )
        # xc_terms takes v_xc by autograd, so it needs gradients even in an inference loop.
        with torch.inference_mode(False), torch.enable_grad():
            total = total_free_energy(
                terms.band_energy_ev,
                terms.entropy_contribution_ev,
                density,
                cell,
                atoms.positions,
                charges,
                setup.functional,
                core,
            ).total_free_energy
    return LdosEnergies(
        n_atoms=len(atoms),
        fermi_energy_ev=float(terms.fermi_energy_ev),
        band_energy_ev=float(terms.band_energy_ev),
        entropy_contribution_ev=float(terms.entropy_contribution_ev),
        total_free_energy_ev=None if total is None else float(total),
    )


def snapshot_energies(
    ldos: np.ndarray, snapshot: Snapshot, setup: EnergySetup, with_total: bool
) -> LdosEnergies:
    """`ldos_energies` of an LDOS on the grid of ``snapshot``, with its cell, temperature,
    energy grid and electron count."""
    meta = snapshot.meta
    energies, _ = ldos_energies(
        ldos,
        meta.cell,
        meta.energy_grid,
        meta.temperature_k,
        meta.n_electrons,
        snapshot.atoms(),
        setup,
        with_total,
    )
    return energies


def predicted_energies(
    ldos: np.ndarray, snapshot: Snapshot, setup: EnergySetup, with_total: bool
) -> LdosEnergies | None:
    """`snapshot_energies` of a network's LDOS, or None when the prediction is unusable: its
    DOS cannot hold the snapshot's electrons within the energy window, or it is not finite
    (an untrained or diverged network). Such a prediction scores an infinite error."""
    try:
        return snapshot_energies(ldos, snapshot, setup, with_total)
    except InputError as error:
        log.warning("%s: predicted LDOS unusable (%s)", snapshot.name, error)
        return None


def energy_errors(predicted: LdosEnergies | None, reference: LdosEnergies) -> dict[str, float]:
    """Predicted minus reference: band energy and total free energy (meV/atom), Fermi level
    (meV); the total only when the reference has it; infinite for an unusable prediction."""
    keys = ["band_energy_error_mev_per_atom", "fermi_energy_error_mev"]
    if reference.total_free_energy_ev is not None:
        keys.append("total_free_energy_error_mev_per_atom")
    if predicted is None:
        return dict.fromkeys(keys, math.inf)
    per_atom = MEV_PER_EV / reference.n_atoms
    errors = {
        "band_energy_error_mev_per_atom": per_atom
        * (predicted.band_energy_ev - reference.band_energy_ev),
        "fermi_energy_error_mev": MEV_PER_EV
        * (predicted.fermi_energy_ev - reference.fermi_energy_ev),
    }
    if predicted.total_free_energy_ev is not None and reference.total_free_energy_ev is not None:
        errors["total_free_energy_error_mev_per_atom"] = per_atom * (
            predicted.total_free_energy_ev - reference.total_free_energy_ev
        )
    return errors


def ldos_rmse(predicted: np.ndarray, reference: np.ndarray) -> float:
    """Root-mean-square LDOS difference over grid points and energies, states/(eV Angstrom^3)."""
    squared = 0.0
    for start in range(0, len(reference), 8):  # x-slabs: a memory-mapped reference stays lazy
        difference = (
            np.asarray(predicted[start : start + 8], np.float64) - reference[start : start + 8]
        )
        squared += float(np.sum(difference**2))
    return float(np.sqrt(squared / reference.size))


def mean_absolute(per_snapshot: list[dict[str, float]], key: str) -> float | None:
    """Mean of |value| of ``key`` over snapshots (seed Eq. 12), None when no snapshot has it."""
    values = [abs(errors[key]) for errors in per_snapshot if key in errors]
    return float(np.mean(values)) if values else None


# ---- skill against the constant guess ----------------------------------------------------

# The energies the constant guess predicts: LdosEnergies field -> name in error keys.
GUESSED_ENERGIES = {
    "band_energy_ev": "band_energy",
    "total_free_energy_ev": "total_free_energy",
}


def constant_guess(training: Iterable[LdosEnergies]) -> dict[str, float]:
    """The constant guess: per energy of `GUESSED_ENERGIES`, the mean per-atom value (eV/atom)
    of the training snapshots' DFT-LDOS energies, predicted for every snapshot. A surrogate
    is useful only where it beats this baseline, which knows nothing of the atoms."""
    training = list(training)
    guess = {}
    for field, name in GUESSED_ENERGIES.items():
        values = [getattr(e, field) for e in training]
        if values and None not in values:
            guess[name] = float(
                np.mean([v / e.n_atoms for v, e in zip(values, training, strict=True)])
            )
    return guess


def constant_guess_errors(guess: Mapping[str, float], reference: LdosEnergies) -> dict[str, float]:
    """Constant guess minus the snapshot's DFT-LDOS value, meV/atom, keyed
    ``constant_<energy>_error_mev_per_atom`` like the model's errors of `energy_errors`."""
    errors = {}
    for field, name in GUESSED_ENERGIES.items():
        value = getattr(reference, field)
        if name in guess and value is not None:
            errors[f"constant_{name}_error_mev_per_atom"] = MEV_PER_EV * (
                guess[name] - value / reference.n_atoms
            )
    return errors


# logged test metric -> per-snapshot error it averages (mean absolute value over snapshots)
TEST_METRICS = {
    "test/band_energy_mae_mev_per_atom": "band_energy_error_mev_per_atom",
    "test/total_free_energy_mae_mev_per_atom": "total_free_energy_error_mev_per_atom",
    "test/fermi_energy_mae_mev": "fermi_energy_error_mev",
    "test/ldos_rmse": "ldos_rmse",
    "test/band_energy_constant_mae_mev_per_atom": "constant_band_energy_error_mev_per_atom",
    "test/total_free_energy_constant_mae_mev_per_atom": (
        "constant_total_free_energy_error_mev_per_atom"
    ),
}


def summarize_test(per_snapshot: list[dict[str, float]]) -> dict[str, float]:
    """The logged test metrics: `TEST_METRICS` averaged over snapshots (seed Eq. 12), and for
    band and total free energy the ratio model MAE / constant-guess MAE (< 1: the model
    beats the constant guess; the target of this project is <= 0.25)."""
    summary = {
        metric: value
        for metric, key in TEST_METRICS.items()
        if (value := mean_absolute(per_snapshot, key)) is not None
    }
    for name in GUESSED_ENERGIES.values():
        model = summary.get(f"test/{name}_mae_mev_per_atom")
        constant = summary.get(f"test/{name}_constant_mae_mev_per_atom")
        if model is not None and constant:
            summary[f"test/{name}_mae_ratio_to_constant"] = model / constant
    return summary


# ---- where an error comes from -------------------------------------------------------------

# energy windows (eV, relative to the Fermi level) of `band_energy_error_by_window`
ENERGY_WINDOWS_EV = ((-np.inf, -8.0), (-8.0, -4.0), (-4.0, -1.0), (-1.0, 1.0), (1.0, np.inf))


def electron_count_error(
    predicted_dos: np.ndarray,
    reference_dos: np.ndarray,
    energy_grid: EnergyGrid,
    fermi_energy_ev: float,
    temperature_k: float,
) -> float:
    """N(predicted) - N(reference) at the reference's Fermi level (electrons per cell):
    integral f (D_pred - D_ref) deps. The Fermi level refitted to the electron count absorbs
    it, at the cost of shifting every occupied state's weight."""
    weights = occupation_weights(energy_grid.energies, fermi_energy_ev, temperature_k)
    return float(weights.electrons @ (predicted_dos - reference_dos))


def band_energy_error_by_window(
    predicted_dos: np.ndarray,
    reference_dos: np.ndarray,
    energy_grid: EnergyGrid,
    fermi_energy_ev: float,
    temperature_k: float,
) -> dict[str, float]:
    """The band-energy error (eV) to first order in dD = D_pred - D_ref, split by energy.

    With the Fermi level refitted to the electron count, dmu = -integral f dD / (dN/dmu), so
    dE_b = integral (eps - mu') f dD deps, where mu' = (dE_b/dmu) / (dN/dmu) of the reference
    DOS lies within ~(k_B T)^2 D'/D of mu. The integrand is summed over each window of
    eps - mu in `ENERGY_WINDOWS_EV`. Deep states weigh by their distance below mu: an LDOS
    error at the band bottom costs about ten times more than the same error near E_F."""
    energies = energy_grid.energies
    weights = occupation_weights(energies, fermi_energy_ev, temperature_k)
    dn_dmu = weights.fermi_derivative @ reference_dos
    de_dmu = fermi_energy_ev * dn_dmu - weights.entropy_fermi_derivative @ reference_dos
    contribution = (weights.band_energy - de_dmu / dn_dmu * weights.electrons) * (
        predicted_dos - reference_dos
    )
    offsets = energies - fermi_energy_ev
    return {
        f"[{low:g}, {high:g}) eV": float(contribution[(offsets >= low) & (offsets < high)].sum())
        for low, high in ENERGY_WINDOWS_EV
    }
