"""The elements the data generator knows: crystal, pseudopotential, Debye temperature, and
the measured DFT defaults (cutoff, k-point density, energy window) that also serve any
structure made of them (``datagen --atoms``).

Supercells are built from a cubic (or, for hcp, orthorhombic) conventional cell repeated
n x n x n times: fcc Al gives 4 n^3 atoms, hcp Mg 4 n^3 atoms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import ase
import ase.build
import numpy as np

from ldos_surrogate.errors import InputError


@dataclass(frozen=True)
class Element:
    """One element's crystal and DFT set-up. Lengths in Angstrom, temperatures in K."""

    symbol: str
    crystal: str  # "fcc" or "hcp"
    lattice_a: float
    lattice_c: float | None
    pseudopotential: str  # file name in the pseudopotential directory
    debye_temperature_k: float
    ecutwfc_ry: float  # plane-wave cutoff (measured converged for energy differences)
    k_mesh: tuple[int, int, int]  # Monkhorst-Pack mesh of the conventional cell
    energy_below_fermi_ev: float  # LDOS window start: band bottom plus about 1 eV margin

    def supercell(self, repeat: int) -> ase.Atoms:
        """The ideal crystal, conventional cell repeated ``repeat`` times along each axis."""
        if repeat < 1:
            raise InputError(f"supercell: expected a repeat count >= 1, got {repeat}")
        if self.crystal == "fcc":
            cell = ase.build.bulk(self.symbol, "fcc", a=self.lattice_a, cubic=True)
        else:
            cell = ase.build.bulk(
                self.symbol, "hcp", a=self.lattice_a, c=self.lattice_c, orthorhombic=True
            )
        return cell.repeat((repeat, repeat, repeat))

    def k_mesh_for(self, repeat: int) -> tuple[int, int, int]:
        """The k-mesh of a supercell: the same k-point density as the conventional cell's."""
        return tuple(max(1, -(-n // repeat)) for n in self.k_mesh)

    @property
    def k_point_density_angstrom(self) -> float:
        """k-points times cell length along each axis of the conventional cell, the smallest
        (Angstrom): the sampling `k_mesh_for_cell` carries over to any cell."""
        lengths = np.linalg.norm(self.supercell(1).cell[:], axis=1)
        return float(min(n * length for n, length in zip(self.k_mesh, lengths, strict=True)))


def k_mesh_for_cell(cell: np.ndarray, density_angstrom: float) -> tuple[int, int, int]:
    """The Monkhorst-Pack mesh n_i = ceil(density / d_i) of a cell (Angstrom), d_i the spacing
    of the lattice planes spanned by the other two vectors (d_i = 2 pi / |b_i|; the length
    |a_i| for orthogonal cells), so any cell gets the k-point density of the defaults."""
    reciprocal = np.linalg.inv(np.asarray(cell, dtype=np.float64)).T  # rows b_i / (2 pi)
    return tuple(max(1, math.ceil(density_angstrom * np.linalg.norm(b) - 1e-9)) for b in reciprocal)


# Al: a = 4.05 Angstrom (room temperature), Debye temperature 428 K (Kittel, Introduction to
# Solid State Physics, table 5.1). Mg: hcp a = 3.21, c = 5.21 Angstrom, Debye temperature
# 400 K (same table). Cutoffs, measured: the total-energy difference between two thermal
# snapshots changes by < 0.1 meV/atom from 12 to 30 Ry for Al.pz-vbc, by 0.03 meV/atom from
# 16 to 25 Ry for Mg.pz-n-vbc. Band bottoms: Al 10.7-11.2 eV, Mg 7.0 eV below E_F.
ELEMENTS = {
    "Al": Element("Al", "fcc", 4.05, None, "Al.pz-vbc.UPF", 428.0, 12.0, (8, 8, 8), 12.0),
    "Mg": Element("Mg", "hcp", 3.21, 5.21, "Mg.pz-n-vbc.UPF", 400.0, 16.0, (8, 5, 5), 8.0),
}


def element(symbol: str) -> Element:
    """Look up an element; InputError for one the generator does not know."""
    try:
        return ELEMENTS[symbol]
    except KeyError as error:
        raise InputError(
            f"--element {symbol!r}: unknown element, expected one of {sorted(ELEMENTS)} "
            "(any other structure: --atoms FILE)"
        ) from error
