"""Physical metrics on MALA's Be2 data: energies of a predicted LDOS against its DFT LDOS."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ldos_surrogate.data.scalers import AffineScaler
from ldos_surrogate.io.mala import MalaSnapshot, read_mala_snapshot
from ldos_surrogate.io.store import EnergyGrid
from ldos_surrogate.models.metrics import (
    EnergySetup,
    energy_errors,
    ldos_rmse,
    mean_absolute,
    predicted_energies,
    snapshot_energies,
)
from ldos_surrogate.models.predictor import predict_ldos

BE2_ENERGY_GRID = EnergyGrid(start_ev=-5.0, spacing_ev=2.5, count=11)


@pytest.fixture(scope="module")
def be2(mala_be2: Path) -> list[MalaSnapshot]:
    return [read_mala_snapshot(mala_be2 / f"Be_snapshot{i}", BE2_ENERGY_GRID) for i in range(4)]


def test_energy_setup_from_the_pseudopotential_or_the_electron_counts(
    be2: list[MalaSnapshot], mala_be2: Path
) -> None:
    with_file = EnergySetup.from_snapshots(be2[:2], pseudo_dirs=[mala_be2])
    assert with_file.valence == {"Be": 2.0}  # Z_valence of Be.pbe-n-rrkjus_psl
    assert with_file.functional is None  # ultrasoft with core correction: no Eq. (7)
    assert "USPP" in with_file.no_total_reason
    unnamed = [read_mala_snapshot(mala_be2 / f"Be_snapshot{i}", BE2_ENERGY_GRID) for i in (0, 1)]
    for snapshot in unnamed:
        snapshot.meta = replace(snapshot.meta, provenance={"pseudopotentials": {"Be": "x.UPF"}})
    without_file = EnergySetup.from_snapshots(unnamed)
    assert without_file.valence == {"Be": 2.0}  # 4 electrons in 2 atoms, fitted
    assert without_file.no_total_reason == (
        "pseudopotential x.UPF not found (give its folder: "
        "paths.pseudo_dirs for train.py, --pseudo-dir on the command line)"
    )
    assert EnergySetup.from_dict(with_file.to_dict()) == with_file
    assert with_file.energy_grid == BE2_ENERGY_GRID
    assert with_file.temperature_k == pytest.approx(299.986, abs=1e-3)


def test_the_dft_ldos_predicted_scores_zero(be2: list[MalaSnapshot]) -> None:
    snapshot = be2[0]
    setup = EnergySetup.from_snapshots([snapshot])
    true = snapshot_energies(snapshot.ldos(), snapshot, setup, with_total=True)
    # fitted on the coarse 11-point grid (DFT: 8.74 eV: compare like with like)
    assert true.fermi_energy_ev == pytest.approx(10.2, abs=0.1)
    assert true.total_free_energy_ev is None
    errors = energy_errors(
        predicted_energies(np.array(snapshot.ldos()), snapshot, setup, False), true
    )
    assert errors == {"band_energy_error_mev_per_atom": 0.0, "fermi_energy_error_mev": 0.0}
    assert ldos_rmse(np.array(snapshot.ldos()), snapshot.ldos()) == 0.0


def test_more_states_below_the_fermi_level_lower_the_band_energy(be2: list[MalaSnapshot]) -> None:
    """Scaling the LDOS up packs the same electrons into a narrower window: the Fermi level
    and the band energy drop (the band energy is sum f eps over the occupied states)."""
    snapshot = be2[0]
    setup = EnergySetup.from_snapshots([snapshot])
    ldos = np.array(snapshot.ldos())
    true = snapshot_energies(ldos, snapshot, setup, with_total=False)
    errors = energy_errors(predicted_energies(1.05 * ldos, snapshot, setup, False), true)
    assert errors["fermi_energy_error_mev"] < 0
    assert errors["band_energy_error_mev_per_atom"] < 0
    assert ldos_rmse(1.05 * ldos, ldos) == pytest.approx(
        0.05 * float(np.sqrt(np.mean(ldos.astype(np.float64) ** 2))), rel=1e-5
    )


def test_an_ldos_that_cannot_hold_the_electrons_scores_infinite_error(
    be2: list[MalaSnapshot],
) -> None:
    snapshot = be2[0]
    setup = EnergySetup.from_snapshots([snapshot])
    true = snapshot_energies(snapshot.ldos(), snapshot, setup, with_total=False)
    too_few_states = 0.3 * np.array(snapshot.ldos())  # holds ~1.2 of the 4 electrons
    assert predicted_energies(too_few_states, snapshot, setup, with_total=False) is None
    errors = energy_errors(None, true)
    assert set(errors) == {"band_energy_error_mev_per_atom", "fermi_energy_error_mev"}
    assert all(math.isinf(value) for value in errors.values())
    assert (
        mean_absolute(
            [errors, {"band_energy_error_mev_per_atom": -2.0}], "band_energy_error_mev_per_atom"
        )
        == math.inf
    )


def test_mean_absolute_error_over_snapshots() -> None:
    per_snapshot = [{"a": -3.0, "b": 1.0}, {"a": 1.0}]
    assert mean_absolute(per_snapshot, "a") == 2.0
    assert mean_absolute(per_snapshot, "b") == 1.0
    assert mean_absolute(per_snapshot, "c") is None


def test_whole_grid_prediction_is_batched_without_autograd(be2: list[MalaSnapshot]) -> None:
    descriptors = torch.from_numpy(np.array(be2[0].descriptors())).reshape(-1, 91)
    network = nn.Sequential(nn.Linear(91, 16), nn.Tanh(), nn.Linear(16, 11)).train()
    scaler = AffineScaler(
        "minmax",
        torch.full((11,), 0.1, dtype=torch.float64),
        torch.full((11,), 2.0, dtype=torch.float64),
    )
    ldos = predict_ldos(network, descriptors, scaler, batch_size=1000)
    assert ldos.shape == (18 * 18 * 27, 11) and not ldos.requires_grad
    assert network.training  # the mode is restored
    with torch.no_grad():
        expected = network(descriptors) * 2.0 + 0.1
    torch.testing.assert_close(ldos, expected, rtol=1e-5, atol=1e-6)
