"""`ldos-surrogate energies` on MALA prefixes and store snapshots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ldos_surrogate.cli import main
from ldos_surrogate.io.store import write_snapshot

BE2_GRID_ARGS = ["--energy-grid", "-5", "2.5", "11"]
MALA_SNAPSHOT0 = (10.240735437299623, 12.447077138958328, -0.0006551579581015896)  # see
# test_band_energy_mala.py for the command that printed them


def _run_json(capsys, *argv: str) -> dict:
    assert main(["energies", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_mala_prefix_gives_mala_values_and_references(capsys, mala_be2):
    result = _run_json(capsys, str(mala_be2 / "Be_snapshot0"), *BE2_GRID_ARGS)
    energies = result["energies_ev"]
    ours = (result["fermi_energy_ev"], energies["band_energy"], energies["smearing_ts"])
    np.testing.assert_allclose(ours, MALA_SNAPSHOT0, rtol=1e-6)
    assert result["reference_ev"]["band_energy"] == pytest.approx(12.076588252980926)
    assert "USPP pseudopotential" in result["total_free_energy_skipped"]


def test_table_output_and_errors(capsys, mala_be2):
    prefix = str(mala_be2 / "Be_snapshot1")
    assert main(["energies", prefix, *BE2_GRID_ARGS]) == 0
    table = capsys.readouterr().out
    assert "band energy E_b" in table and "not computed" in table
    assert main(["energies", prefix]) == 2
    assert "--energy-grid" in capsys.readouterr().err


def test_store_snapshot_with_nan_ldos_is_refused(capsys, tmp_path, be2_snapshots):
    source = be2_snapshots[0]
    ldos = np.array(source.ldos())
    written = write_snapshot(tmp_path / "nan", source.meta, source.atoms(), ldos)
    ldos[0, 0, 0, 0] = np.nan  # e.g. a network's prediction saved without checks
    np.save(written.path / "ldos.npy", ldos)
    assert main(["energies", str(tmp_path / "nan")]) == 2
    assert "NaN" in capsys.readouterr().err


def test_shipped_al_snapshot_total_free_energy(capsys, al_snapshots):
    snapshot = al_snapshots[0]
    result = _run_json(capsys, str(snapshot.path))
    assert result["total_free_energy_skipped"] is None
    error = result["energies_ev"]["total_free_energy"] - result["reference_ev"]["total_free_energy"]
    assert abs(error) / result["n_atoms"] < 5e-3
