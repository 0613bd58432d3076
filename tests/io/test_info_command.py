"""`ldos-surrogate info` on a shipped snapshot, whose provenance holds the Kohn-Sham
eigenvalues and k-weights (thousands of numbers): a summary a person reads, and --json with
everything."""

from __future__ import annotations

import json
from pathlib import Path

import ase.io
import numpy as np

from ldos_surrogate.cli import main

SNAPSHOT = Path(__file__).resolve().parents[2] / "data" / "al_fcc_298K" / "snapshot_0000"


def test_summary_is_short_and_shows_long_lists_as_shape_and_range(capsys) -> None:
    assert main(["info", str(SNAPSHOT)]) == 0
    out = capsys.readouterr().out
    assert len(out) < 4000
    assert max(len(line) for line in out.splitlines()) <= 100
    meta = json.loads((SNAPSHOT / "meta.json").read_text())
    eigenvalues = np.asarray(meta["provenance"]["kohn_sham_states"]["eigenvalues_ev"])
    rows, bands = eigenvalues.shape
    assert (
        f"kohn_sham_states.eigenvalues_ev {rows} x {bands} numbers, "
        f"{eigenvalues.min():.6g} ... {eigenvalues.max():.6g}" in out
    )
    assert "smearing.kind fermi-dirac" in out
    assert "18 x 18 x 18 = 5832 points" in out
    assert f"total_free_energy {meta['reference_ev']['total_free_energy']:.6f} eV" in out


def test_json_holds_everything(capsys) -> None:
    assert main(["info", "--json", str(SNAPSHOT)]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert everything["meta"] == json.loads((SNAPSHOT / "meta.json").read_text())
    atoms = ase.io.read(SNAPSHOT / "atoms.extxyz")
    assert everything["atoms"]["symbols"] == atoms.get_chemical_symbols()
    np.testing.assert_allclose(everything["atoms"]["positions_angstrom"], atoms.get_positions())
