"""`ldos-surrogate info SNAPSHOT`: grid, cell, atoms, energy grid and DFT references."""

from __future__ import annotations

import argparse

import numpy as np

from ldos_surrogate.io.open import (
    add_energy_grid_argument,
    energy_grid_from_argument,
    open_snapshot,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="print what a snapshot holds")
    parser.add_argument(
        "snapshot", help="snapshot folder, or MALA prefix such as data/Be_snapshot0"
    )
    add_energy_grid_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    snapshot = open_snapshot(args.snapshot, energy_grid_from_argument(args.energy_grid))
    meta = snapshot.meta
    atoms = snapshot.atoms()
    grid = meta.energy_grid
    print(f"snapshot      {args.snapshot}")
    print(f"atoms         {len(atoms)}: {atoms.get_chemical_formula()}")
    print(
        f"grid          {' x '.join(map(str, meta.grid_shape))} = {np.prod(meta.grid_shape)} points"
    )
    print("cell (Angstrom)")
    for row in meta.cell:
        print("              " + "  ".join(f"{x:12.6f}" for x in row))
    print(f"volume        {abs(np.linalg.det(meta.cell)):.6f} Angstrom^3")
    print(
        f"energy grid   {grid.count} energies from {grid.start_ev:g} eV, spacing {grid.spacing_ev:g} eV "
        f"(to {grid.energies[-1]:g} eV)"
    )
    if meta.broadening is not None:
        print(f"broadening    {meta.broadening.kernel}, width {meta.broadening.width_ev:g} eV")
    print(f"temperature   {meta.temperature_k:g} K")
    print(f"Fermi energy  {meta.fermi_energy_ev:.6f} eV (DFT)")
    print(f"electrons     {meta.n_electrons:g}")
    for key, value in meta.reference.items():
        print(f"{key:13s} {value:.6f} eV  ({value / len(atoms):.6f} eV/atom)")
    for key, value in meta.provenance.items():
        print(f"{key:13s} {value}")
    return 0
