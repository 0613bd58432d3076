"""Time the post-processing of one snapshot's LDOS, beside MALA 1.4.0 on the same array.

Like for like: LDOS -> DOS -> self-consistent Fermi level -> band energy (MALA's
`get_self_consistent_fermi_energy` + `get_band_energy`, analytic integration, its default).
Then the full post-processing of this project on the same snapshot: DOS, Fermi level,
band energy, -TS, density (Eq. 6), Hartree, xc, Ewald and the total (Eq. 7). MALA needs
QE's compiled total-energy module for the latter, so it has no counterpart here.

    .venv/bin/python benchmarks/postprocessing.py [--snapshot DIR] [--repeats N] [--threads T]
    .venv/bin/python benchmarks/postprocessing.py --quick   # 3 repeats: the CI smoke test

torch runs on T threads (default 1, like MALA's numpy/mpmath code: on a shared 2-core
machine more threads only contend with the other jobs).

Default snapshot: MALA's Be2 snapshot 0 (tests/reference/mala_be2), energy grid -5, 2.5, 11.
Writes ``<out>/postprocessing.json``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from harness import BE2, BE2_ENERGY_GRID, arguments, median_of, write_outputs

from ldos_surrogate.io.open import open_snapshot
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.core_charge import core_density
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.pseudopotential import core_charges, pseudopotentials_for
from ldos_surrogate.physics.total_energy import free_energy_from_ldos

BE2_SNAPSHOT = BE2 / "Be_snapshot0"


def mala_band_energy(snapshot, ldos: np.ndarray):
    """MALA 1.4.0 on the same array; None when MALA is not installed."""
    try:
        import ase.cell
        import mala
    except ImportError:
        return None
    grid = snapshot.meta.energy_grid
    parameters = mala.Parameters()
    parameters.verbosity = 0
    parameters.targets.ldos_gridsize = grid.count
    parameters.targets.ldos_gridspacing_ev = grid.spacing_ev
    parameters.targets.ldos_gridoffset_ev = grid.start_ev
    calculator = mala.LDOS.from_numpy_array(parameters, ldos.copy())
    calculator.temperature = snapshot.meta.temperature_k
    calculator.number_of_electrons_exact = snapshot.meta.n_electrons
    voxel = np.asarray(snapshot.meta.cell) / np.array(ldos.shape[:3])[:, None]
    calculator.voxel = ase.cell.Cell(voxel)

    def run():
        fermi = calculator.get_self_consistent_fermi_energy(ldos)
        return fermi, calculator.get_band_energy(ldos, fermi_energy=fermi)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshot", default=str(BE2_SNAPSHOT), help="store folder or MALA prefix")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = arguments(__doc__.splitlines()[0], parser)
    repeats = 3 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    snapshot = open_snapshot(args.snapshot, BE2_ENERGY_GRID)
    meta, atoms = snapshot.meta, snapshot.atoms()
    ldos = np.array(snapshot.ldos())
    energies = meta.energy_grid.energies
    print(f"snapshot {args.snapshot}: grid {ldos.shape[:3]}, {ldos.shape[3]} energies")

    def ours_band_energy():
        dos = density_of_states(ldos, meta.cell)
        terms = band_terms(dos, energies, meta.temperature_k, meta.n_electrons)
        return terms.fermi_energy_ev, terms.band_energy_ev

    pseudos, missing = pseudopotentials_for(
        meta.provenance["pseudopotentials"], set(atoms.get_chemical_symbols()), [snapshot.path]
    )
    if pseudos is None:
        raise SystemExit(f"{args.snapshot}: {missing}")
    symbols = atoms.get_chemical_symbols()
    charges = np.array([pseudos[s].z_valence for s in symbols])
    functional = next(iter(pseudos.values())).functional
    core = core_density(core_charges(pseudos), symbols, atoms.positions, meta.cell, ldos.shape[:3])

    def ours_everything():
        return free_energy_from_ldos(
            ldos,
            energies,
            meta.cell,
            meta.temperature_k,
            meta.n_electrons,
            atoms.positions,
            charges,
            functional,
            core,
        )

    rows = []
    (fermi, band), ours_time = median_of(repeats, ours_band_energy)
    rows.append(("band energy (this project)", ours_time, fermi, band))
    mala_run = mala_band_energy(snapshot, ldos)
    if mala_run is not None:
        (mala_fermi, mala_band), mala_time = median_of(repeats, mala_run)
        rows.append(("band energy (MALA 1.4.0)", mala_time, float(mala_fermi), float(mala_band)))
    (terms, total), full_time = median_of(max(3, repeats // 4), ours_everything)
    rows.append(
        ("full Eq. 7 (this project)", full_time, terms.fermi_energy_ev, terms.band_energy_ev)
    )

    print(f"{'what':30s}{'median s':>12s}{'vs ours band':>14s}{'E_F eV':>16s}{'E_b eV':>18s}")
    for name, seconds, fermi_ev, band_ev in rows:
        print(
            f"{name:30s}{seconds:12.5f}{seconds / ours_time:14.2f}{fermi_ev:16.10f}{band_ev:18.10f}"
        )
    print(
        f"total free energy A = {float(total.total_free_energy):.6f} eV ({functional}; "
        f"physical only for norm-conserving pseudopotentials)"
    )
    if mala_run is not None:
        print(f"MALA / this project, band energy: {mala_time / ours_time:.1f}x")
    payload = {
        "mode": "quick" if args.quick else "full",
        "snapshot": str(args.snapshot),
        "grid_shape": list(ldos.shape[:3]),
        "repeats": repeats,
        "torch_threads": args.threads,
        "rows": {
            name: {
                "median_s": seconds,
                "fermi_energy_ev": float(fermi_ev),
                "band_energy_ev": float(band_ev),
            }
            for name, seconds, fermi_ev, band_ev in rows
        },
        "total_free_energy_ev": float(total.total_free_energy),
        "functional": functional,
    }
    print(f"wrote {write_outputs('postprocessing', args.out, payload)}")


if __name__ == "__main__":
    main()
