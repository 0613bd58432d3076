"""Time the generation of one shipped-style Al snapshot and measure what storage precision costs.

One 4-atom fcc Al snapshot at 298 K with the settings of data/al_fcc_298K (12 Ry, 8x8x8
k-points, 18^3 grid, 291 energies): SCF + density, NSCF, then the LDOS by the wavefunction
path and by pp.x (the baseline, same Fermi-Dirac kernel, same energies). Then the LDOS is
stored as float32 and float16 and the electron count and band energy (Fermi level refitted
to the electron count, as a surrogate's output is used) are compared with float64.

    .venv/bin/python benchmarks/datagen_snapshot.py
    .venv/bin/python benchmarks/datagen_snapshot.py --quick   # 2x2x2 k-points: CI

``--quick`` keeps every step and setting but the k-point mesh (2x2x2 instead of 8x8x8), so
its times are not the shipped set's. Writes ``<out>/datagen_snapshot.json``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from harness import arguments, scratch_dir, timed, write_outputs

from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.dataset import DatagenSettings
from ldos_surrogate.datagen.elements import element
from ldos_surrogate.datagen.ldos import ldos_from_wavefunctions
from ldos_surrogate.datagen.qe import QeRunner
from ldos_surrogate.datagen.thermal import thermal_snapshot
from ldos_surrogate.io.store import Broadening, EnergyGrid
from ldos_surrogate.physics.band_energy import band_terms
from ldos_surrogate.physics.dos import density_of_states

QUICK_K_MESH = (2, 2, 2)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    settings = DatagenSettings(element="Al", supercell=1, temperature_k=298.0)
    al = element("Al")
    atoms = thermal_snapshot(al.supercell(1), 298.0, al.debye_temperature_k, seed=0, index=0)
    k_mesh = QUICK_K_MESH if args.quick else settings.k_mesh
    pw = settings.pw_settings(Path(settings.pseudo_dir), k_mesh)
    runner = QeRunner()
    parent = scratch_dir(args) if args.scratch else None
    workdir = Path(tempfile.mkdtemp(prefix="datagen_benchmark.", dir=parent))
    scf, t_scf = timed(dft.run_pw, atoms, pw, runner, workdir, "scf")
    _, t_density = timed(dft.scf_density, scf, workdir)
    grid = EnergyGrid(round((scf.fermi_energy - 12.0) / 0.05) * 0.05, 0.05, 291)
    n_bands = dft.bands_needed(scf, grid.energies[-1] + 1.0)
    nscf, t_nscf = timed(dft.run_pw, atoms, pw, runner, workdir, "nscf", n_bands)
    save = dft.save_dir(workdir)
    gaussian, t_fast = timed(ldos_from_wavefunctions, save, nscf, grid, settings.broadening)
    fermi_dirac = Broadening("fermi-dirac", 0.05)
    fast_fd, t_fast_fd = timed(ldos_from_wavefunctions, save, nscf, grid, fermi_dirac)
    pp_fd, t_pp = timed(dft.ldos_from_pp, runner, workdir, grid, fermi_dirac)

    print(f"4-atom Al, grid {nscf.fft_grid}, {len(nscf.k_weights)} k-points, {n_bands} bands")
    print("| step | wall time (s) |\n|---|---|")
    steps = {
        "SCF (pw.x)": t_scf,
        "SCF density (charge-density.dat)": t_density,
        "NSCF (pw.x, PPCG)": t_nscf,
        "LDOS, wavefunction path": t_fast,
        "LDOS, pp.x plot_num=3 (baseline)": t_pp,
    }
    for name, seconds in steps.items():
        print(f"| {name} | {seconds:.1f} |")
    deviation = np.abs(fast_fd - pp_fd).max() / np.abs(pp_fd).max()
    print(
        f"\nLDOS pp.x / wavefunction path time ratio: {t_pp / t_fast_fd:.1f}x "
        f"(max deviation {deviation:.1e} of the LDOS maximum, Fermi-Dirac kernel)"
    )

    cell, energies = scf.cell, grid.energies
    exact = band_terms(density_of_states(gaussian, cell), energies, 298.0, scf.n_electrons)
    print("\n| storage | max rel. LDOS error | E_F shift (meV) | band energy error (meV/atom) |")
    print("|---|---|---|---|")
    storage = {}
    for dtype in (np.float32, np.float16):
        stored = gaussian.astype(dtype).astype(np.float64)
        error = np.abs(stored - gaussian).max() / np.abs(gaussian).max()
        terms = band_terms(density_of_states(stored, cell), energies, 298.0, scf.n_electrons)
        shift = (terms.fermi_energy_ev - exact.fermi_energy_ev) * 1e3
        band = (terms.band_energy_ev - exact.band_energy_ev) * 1e3 / len(atoms)
        print(f"| {np.dtype(dtype).name} | {error:.1e} | {shift:+.4f} | {band:+.4f} |")
        storage[np.dtype(dtype).name] = {
            "max_rel_ldos_error": float(error),
            "fermi_shift_mev": float(shift),
            "band_energy_error_mev_per_atom": float(band),
        }
    shutil.rmtree(workdir)
    payload = {
        "mode": "quick" if args.quick else "full",
        "k_mesh": list(k_mesh),
        "fft_grid": list(nscf.fft_grid),
        "k_points": len(nscf.k_weights),
        "bands": n_bands,
        "energies": grid.count,
        "n_electrons": float(scf.n_electrons),
        "fermi_refit_minus_scf_mev": 1000 * float(exact.fermi_energy_ev - scf.fermi_energy),
        "steps_wall_s": steps,
        "pp_over_wavefunction_time": t_pp / t_fast_fd,
        "ldos_max_deviation_over_max": float(deviation),
        "storage": storage,
    }
    print(f"wrote {write_outputs('datagen_snapshot', args.out, payload)}")


if __name__ == "__main__":
    main()
