"""The ASE calculator: total free energy from the checkpoint, per-atom energies and the
out-of-distribution fraction in ``results``, band energy (said so) where Eq. 7 is unavailable."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from conftest import AL_DATASET

from ldos_surrogate.calculator import LdosCalculator
from ldos_surrogate.io.store import read_snapshot
from ldos_surrogate.models.predictor import LdosPredictor


def test_potential_energy_is_the_predicted_total_free_energy(al_checkpoint: Path) -> None:
    atoms = read_snapshot(AL_DATASET / "snapshot_0007").atoms()
    expected = LdosPredictor.from_checkpoint(al_checkpoint).predict(atoms)
    atoms.calc = LdosCalculator(al_checkpoint)
    energy = atoms.get_potential_energy()
    assert energy == expected.energies.total_free_energy_ev
    assert atoms.get_potential_energy(force_consistent=True) == energy
    results = atoms.calc.results
    assert results["energy_kind"] == "total_free_energy"
    assert results["energies_ev_per_atom"]["total_free_energy_ev"] == pytest.approx(energy / 4)
    assert results["ood_fraction"] == expected.out_of_range.fraction > 0.03
    assert results["grid_shape"] == (18, 18, 18)
    # moving an atom changes the energy (a new calculation), the same atoms do not
    atoms.positions[0, 0] += 0.05
    assert atoms.get_potential_energy() != energy


def test_band_energy_where_eq7_cannot_be_evaluated(
    al_checkpoint: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same checkpoint with an energy setup that cannot evaluate Eq. 7 (as for ultrasoft
    pseudopotentials): the energy is the band energy, and the calculator says so."""
    checkpoint = torch.load(al_checkpoint, weights_only=True)
    setup = checkpoint["hyper_parameters"]["energy_setup"]
    setup["functional"], setup["no_total_reason"] = None, "X.UPF is USPP (PBE)"
    edited = tmp_path / "band_only.ckpt"
    torch.save(checkpoint, edited)
    atoms = read_snapshot(AL_DATASET / "snapshot_0006").atoms()
    atoms.calc = LdosCalculator(edited)
    with caplog.at_level(logging.WARNING):
        energy = atoms.get_potential_energy()
    assert atoms.calc.results["energy_kind"] == "band_energy"
    assert energy == atoms.calc.results["energies_ev"]["band_energy_ev"]
    assert "band energy only" in caplog.text and "USPP" in caplog.text
