"""The DFT steps of one snapshot, each run by Quantum ESPRESSO in a scratch directory.

SCF (pw.x) -> SCF density (charge-density.dat) -> NSCF with empty bands (pw.x) -> LDOS,
either assembled from the NSCF wavefunctions (`ldos.ldos_from_wavefunctions`, the fast
default) or computed by pp.x plot_num=3 (the cross-check; Fermi-Dirac kernel only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import ase
import numpy as np

from ldos_surrogate.datagen.charge_density import read_charge_density
from ldos_surrogate.datagen.qe import (
    OUTDIR,
    PREFIX,
    PwSettings,
    QeRunner,
    pp_ldos_input,
    pw_input,
)
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.qe_output import (
    BOHR_IN_ANGSTROM,
    RYDBERG_IN_EV,
    PwResult,
    UnconvergedEigenvaluesError,
    read_pp_plot,
    read_pw_xml,
)
from ldos_surrogate.io.store import Broadening, EnergyGrid

EXTRA_BANDS_ON_RETRY = 4
BAND_BOTTOM_MARGIN_EV = 1.0

# Kernel tails beyond these many widths are below 1e-8 of the peak: a state farther than
# that outside the energy grid contributes nothing.
KERNEL_REACH_WIDTHS = {"gaussian": 6.0, "fermi-dirac": 20.0}


def save_dir(workdir: Path) -> Path:
    """pw.x's ``<prefix>.save`` directory (XML, wavefunctions, density) inside ``workdir``."""
    return workdir / OUTDIR / f"{PREFIX}.save"


def run_pw(
    atoms: ase.Atoms,
    settings: PwSettings,
    runner: QeRunner,
    workdir: Path,
    calculation: str,
    n_bands: int | None = None,
) -> PwResult:
    """Run pw.x ('scf' or 'nscf') and read its XML; InputError unless it converged.

    An nscf run that leaves eigenvalues unconverged is repeated once with
    ``EXTRA_BANDS_ON_RETRY`` more bands: the unconverged states are the highest ones, nearly
    degenerate with the first band left out; with more bands they become interior ones.
    """
    try:
        log = runner.run(
            "pw.x", pw_input(atoms, settings, calculation, n_bands), workdir, calculation
        )
    except UnconvergedEigenvaluesError:
        if n_bands is None:
            raise
        text = pw_input(atoms, settings, calculation, n_bands + EXTRA_BANDS_ON_RETRY)
        log = runner.run("pw.x", text, workdir, f"{calculation}_more_bands")
    run = read_pw_xml(save_dir(workdir) / "data-file-schema.xml")
    if run.scf_converged is False:
        raise InputError(f"{log}: pw.x SCF convergence NOT achieved")
    return run


def scf_density(run: PwResult, workdir: Path) -> np.ndarray:
    """The SCF valence density of ``run`` (nx, ny, nz), electrons/Angstrom^3."""
    return read_charge_density(save_dir(workdir), run.fft_grid)


def bands_needed(scf: PwResult, top_ev: float) -> int:
    """Bands that reach ``top_ev`` at every k-point, estimated from free electrons, with margin.

    A free-electron band count grows as (eps - eps_bottom)^(3/2); 50 % plus 4 bands
    of margin cover the band-structure deviations of simple metals. `check_window`
    verifies the estimate on the NSCF result.
    """
    bottom = scf.eigenvalues.min()
    ratio = max(top_ev - bottom, 0.0) / (scf.fermi_energy - bottom)
    return int(np.ceil(1.5 * scf.n_electrons / 2 * ratio**1.5)) + 4


def energy_window(
    run: PwResult,
    below_ev: float | None,
    above_ev: float,
    spacing_ev: float,
    broadening: Broadening,
) -> EnergyGrid:
    """The energy grid E_F - below ... E_F + above of ``run`` (its Fermi energy), the start
    rounded to a multiple of the spacing; ``below_ev`` None: from the band bottom, with
    ``BAND_BOTTOM_MARGIN_EV`` and the kernel's reach below it."""
    if below_ev is None:
        reach = KERNEL_REACH_WIDTHS[broadening.kernel] * broadening.width_ev
        below_ev = run.fermi_energy - run.eigenvalues.min() + BAND_BOTTOM_MARGIN_EV + reach
    start = np.round((run.fermi_energy - below_ev) / spacing_ev)
    count = int(round((below_ev + above_ev) / spacing_ev)) + 1
    return EnergyGrid(float(start * spacing_ev), spacing_ev, count)


def check_window(run: PwResult, energy_grid: EnergyGrid, broadening: Broadening) -> None:
    """InputError unless the grid reaches below the band bottom and every k-point has bands
    above the grid top, both by the kernel's reach (states outside would be missing)."""
    reach = KERNEL_REACH_WIDTHS[broadening.kernel] * broadening.width_ev
    energies = energy_grid.energies
    if energies[0] > run.eigenvalues.min() - reach:
        raise InputError(
            f"energy grid starts at {energies[0]:.3f} eV, above band bottom "
            f"{run.eigenvalues.min():.3f} eV minus {reach:.2f} eV: lower the window start"
        )
    if run.eigenvalues[:, -1].min() < energies[-1] + reach:
        raise InputError(
            f"NSCF bands reach only {run.eigenvalues[:, -1].min():.3f} eV at some k-point, "
            f"below the grid top {energies[-1]:.3f} eV plus {reach:.2f} eV: use more bands"
        )


def ldos_from_pp(
    runner: QeRunner,
    workdir: Path,
    energy_grid: EnergyGrid,
    broadening: Broadening,
    batch_size: int = 50,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> np.ndarray:
    """The LDOS from pp.x plot_num=3, (nx, ny, nz, n_energies), states/(eV Angstrom^3).

    pp.x 6.7 broadens with the run's smearing shape, Fermi-Dirac here, so only that kernel
    is available on this path. Runs pp.x once per batch of energies.
    """
    if broadening.kernel != "fermi-dirac":
        raise InputError(
            f"broadening kernel {broadening.kernel!r}: pp.x 6.7 broadens with the Fermi-Dirac "
            "smearing shape only; use the wavefunction LDOS path for other kernels"
        )
    energies = energy_grid.energies
    batches = [energies[i : i + batch_size] for i in range(0, len(energies), batch_size)]
    planes = []
    for index, batch in enumerate(progress(batches) if progress else batches):
        filplot = f"ldos_batch{index}_"
        runner.run(
            "pp.x",
            pp_ldos_input(filplot, batch, broadening.width_ev),
            workdir,
            f"pp_ldos_batch{index}",
        )
        files = sorted(workdir.glob(f"{filplot}[0-9]*"))
        if len(files) != len(batch):
            raise InputError(
                f"{workdir}: pp.x wrote {len(files)} LDOS files for {len(batch)} energies"
            )
        planes += [read_pp_plot(path).values for path in files]
    return np.stack(planes, axis=-1) / (RYDBERG_IN_EV * BOHR_IN_ANGSTROM**3)
