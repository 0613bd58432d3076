"""`ldos-surrogate energies SNAPSHOT`: Fermi level, electrons, band energy, -TS and the total
free energy (Eq. 7) computed from a snapshot's LDOS, beside the DFT reference values."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.open import (
    add_energy_grid_argument,
    energy_grid_from_argument,
    open_snapshot,
)
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.core_charge import core_density
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.pseudopotential import (
    core_charges,
    pseudopotentials_for,
    why_no_total_energy,
)
from ldos_surrogate.physics.total_energy import free_energy_from_ldos


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "energies", help="energies from a snapshot's LDOS, beside the DFT reference values"
    )
    parser.add_argument(
        "snapshot", help="snapshot folder, or MALA prefix such as data/Be_snapshot0"
    )
    add_energy_grid_argument(parser)
    parser.add_argument(
        "--pseudo-dir",
        type=Path,
        action="append",
        default=[],
        help="directory with the UPF files named in the snapshot (searched first; repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def compute(snapshot, pseudo_dirs: list[Path]) -> dict:
    """All energies (eV) of the snapshot's LDOS and the DFT references, as a JSON-able dict."""
    meta = snapshot.meta
    atoms = snapshot.atoms()
    symbols = atoms.get_chemical_symbols()
    ldos = snapshot.ldos()
    energies = meta.energy_grid.energies
    if ldos.shape[:3] != tuple(meta.grid_shape):
        raise InputError(f"{snapshot.path}: LDOS grid {ldos.shape[:3]} != grid {meta.grid_shape}")
    pseudos, why_no_total = pseudopotentials_for(
        meta.provenance.get("pseudopotentials") or {},
        sorted(set(symbols)),
        [*pseudo_dirs, snapshot.path, snapshot.path.parent],
    )
    if pseudos is not None:
        why_no_total = why_no_total_energy(pseudos.values())
    computed: dict[str, float] = {}
    if why_no_total is None:
        terms, total = free_energy_from_ldos(
            ldos,
            energies,
            meta.cell,
            meta.temperature_k,
            meta.n_electrons,
            atoms.positions,
            np.array([pseudos[symbol].z_valence for symbol in symbols]),
            next(iter(pseudos.values())).functional,
            core_density(
                core_charges(pseudos), symbols, atoms.positions, meta.cell, ldos.shape[:3]
            ),
        )
        computed |= {
            "hartree": float(total.hartree),
            "xc": float(total.xc),
            "xc_potential_integral": float(total.xc_potential_integral),
            "ewald": total.ewald,
            "total_free_energy": float(total.total_free_energy),
        }
    else:
        dos = density_of_states(ldos, meta.cell, name=str(snapshot.path))
        terms = band_terms(dos, energies, meta.temperature_k, meta.n_electrons)
    computed = {
        "band_energy": float(terms.band_energy_ev),
        "smearing_ts": float(terms.entropy_contribution_ev),
        **computed,
    }
    return {
        "snapshot": str(getattr(snapshot, "prefix", snapshot.path)),
        "n_atoms": len(atoms),
        "fermi_energy_ev": float(terms.fermi_energy_ev),
        "fermi_energy_dft_ev": meta.fermi_energy_ev,
        "n_electrons": meta.n_electrons,
        "energies_ev": computed,
        "reference_ev": {key: meta.reference[key] for key in computed if key in meta.reference},
        "total_free_energy_skipped": why_no_total,
    }


LABELS = {
    "band_energy": "band energy E_b",
    "smearing_ts": "entropy term -TS",
    "hartree": "Hartree E_H",
    "xc": "xc E_xc",
    "xc_potential_integral": "integral v_xc n",
    "ewald": "Ewald",
    "total_free_energy": "total free energy A",
}


def _print_table(result: dict) -> None:
    n_atoms = result["n_atoms"]
    print(f"snapshot            {result['snapshot']} ({n_atoms} atoms)")
    print(
        f"Fermi energy        {result['fermi_energy_ev']:.6f} eV "
        f"(DFT {result['fermi_energy_dft_ev']:.6f} eV)"
    )
    electrons = result["n_electrons"]
    print(f"electrons           {electrons:g} ({electrons / n_atoms:g} per atom)")
    print(f"{'':20s}{'eV':>15s}{'eV/atom':>13s}{'DFT eV/atom':>13s}{'diff meV/atom':>15s}")
    for key, value in result["energies_ev"].items():
        reference = result["reference_ev"].get(key)
        line = f"{LABELS[key]:20s}{value:15.6f}{value / n_atoms:13.6f}"
        if reference is not None:
            line += f"{reference / n_atoms:13.6f}{1000 * (value - reference) / n_atoms:15.3f}"
        print(line)
    if result["total_free_energy_skipped"]:
        print(f"total free energy   not computed: {result['total_free_energy_skipped']}")


def run(args: argparse.Namespace) -> int:
    snapshot = open_snapshot(args.snapshot, energy_grid_from_argument(args.energy_grid))
    result = compute(snapshot, args.pseudo_dir)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return 0
