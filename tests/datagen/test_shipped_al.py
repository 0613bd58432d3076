"""Physics checks of the shipped data set data/al_fcc_298K (fcc Al, 298 K, 4-atom cells)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ldos_surrogate.datagen.ldos import broadened_dos
from ldos_surrogate.io.store import read_dataset
from ldos_surrogate.physics.band_energy import band_energy
from ldos_surrogate.physics.dos import density_of_states
from ldos_surrogate.physics.fermi import number_of_electrons

DATASET = Path(__file__).resolve().parents[2] / "data" / "al_fcc_298K"


@pytest.fixture(scope="module")
def snapshots():
    if not (DATASET / "manifest.json").exists():
        pytest.skip(f"{DATASET} not generated yet")
    return read_dataset(DATASET)


def eigenvalue_dos(snapshot) -> np.ndarray:
    """The NSCF eigenvalues broadened with the LDOS's kernel, on its energy grid."""
    states = snapshot.meta.provenance["kohn_sham_states"]
    return broadened_dos(
        np.array(states["eigenvalues_ev"]),
        np.array(states["k_weights"]),
        snapshot.meta.energy_grid,
        snapshot.meta.broadening,
    )


def test_data_set_layout(snapshots):
    assert len(snapshots) >= 8
    first = snapshots[0].meta
    for snapshot in snapshots:
        meta = snapshot.meta
        assert len(snapshot.atoms()) == 4 and set(snapshot.atoms().symbols) == {"Al"}
        assert meta.energy_grid == first.energy_grid  # one output axis for the network
        assert meta.broadening.kernel == "gaussian" and meta.broadening.width_ev <= 0.05
        assert meta.energy_grid.spacing_ev <= meta.broadening.width_ev
        assert meta.temperature_k == 298.0 and meta.n_electrons == 12.0
        np.testing.assert_allclose(meta.cell, np.eye(3) * 4.05, atol=1e-9)
    shipped = [  # hidden folders (descriptor caches) are not part of the data set
        path
        for path in DATASET.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(DATASET).parts)
    ]
    assert sum(path.stat().st_size for path in shipped) / 1e6 < 30  # MB


def test_electron_count_from_ldos_is_three_per_atom(snapshots):
    for snapshot in snapshots:
        meta = snapshot.meta
        dos = density_of_states(snapshot.ldos(), meta.cell)
        electrons = number_of_electrons(
            dos, meta.energy_grid.energies, meta.fermi_energy_ev, meta.temperature_k
        )
        assert electrons == pytest.approx(3 * 4, rel=5e-3), snapshot.name


def test_band_energy_from_ldos_matches_broadened_eigenvalues(snapshots):
    for snapshot in snapshots:
        meta = snapshot.meta
        energies, args = meta.energy_grid.energies, (meta.fermi_energy_ev, meta.temperature_k)
        from_ldos = band_energy(density_of_states(snapshot.ldos(), meta.cell), energies, *args)
        from_eigenvalues = band_energy(eigenvalue_dos(snapshot), energies, *args)
        assert from_ldos == pytest.approx(from_eigenvalues, rel=1e-4), snapshot.name
        # and within broadening error of QE's unbroadened band energy (~20 meV/atom)
        assert abs(from_ldos - meta.reference["band_energy"]) / 4 < 0.05, snapshot.name


def test_density_and_ldos_share_the_grid(snapshots):
    for snapshot in snapshots:
        meta = snapshot.meta
        density = snapshot.density()
        assert density.shape == snapshot.ldos().shape[:3] == meta.grid_shape
        assert density.sum() * meta.voxel_volume == pytest.approx(12.0, rel=1e-8)
        assert density.min() > 0


def test_descriptors_are_computed_on_the_ldos_grid(snapshots):
    from ldos_surrogate.descriptors.params import SnapParams
    from ldos_surrogate.descriptors.snap import compute_snap_grid
    from ldos_surrogate.errors import InputError

    snapshot = snapshots[0]
    try:
        descriptors = compute_snap_grid(
            snapshot.atoms(), snapshot.meta.grid_shape, SnapParams(rcut=4.0, twojmax=2)
        )
    except InputError as error:
        pytest.skip(f"LAMMPS with sna/grid unavailable: {error}")
    assert descriptors.shape[:3] == snapshot.ldos().shape[:3]
    assert np.isfinite(descriptors).all() and descriptors.std(axis=(0, 1, 2)).min() > 0


@pytest.mark.slow
def test_the_documented_command_reproduces_snapshot_0(snapshots, tmp_path):
    """Full size (~1-3 min): the README's command, run afresh, remakes snapshot_0000."""
    import shutil

    from ldos_surrogate.cli import main

    if shutil.which("pw.x") is None:
        pytest.skip("Quantum ESPRESSO missing")
    command = "datagen --element Al --supercell 1 --temperature 298 --snapshots 1 --seed 0"
    assert main([*command.split(), "--out", str(tmp_path / "al")]) == 0
    remade, shipped = read_dataset(tmp_path / "al")[0], snapshots[0]
    assert remade.meta.energy_grid == shipped.meta.energy_grid
    for key, value in shipped.meta.reference.items():
        assert remade.meta.reference[key] == pytest.approx(value, abs=1e-5), key
    scale = shipped.ldos().max()
    assert np.abs(remade.ldos() - shipped.ldos()).max() <= 1e-3 * scale  # float16 steps
    np.testing.assert_allclose(remade.atoms().positions, shipped.atoms().positions, atol=1e-12)
