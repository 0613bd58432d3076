"""Scalers on MALA's Be2 descriptors and LDOS: streaming fits equal whole-array statistics."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate.data.scalers import AffineScaler, MinMaxFit, StandardFit, scaler_fit
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot

TRAIN = ("Be_snapshot0", "Be_snapshot1", "Be_snapshot2")


def _rows(mala_be2, names, which):
    """(n_points, n_columns) float32 rows of the descriptors or LDOS of the given snapshots."""
    arrays = []
    for name in names:
        snapshot = read_mala_snapshot(mala_be2 / name, BE2_ENERGY_GRID)
        array = snapshot.descriptors() if which == "descriptors" else snapshot.ldos()
        arrays.append(np.asarray(array).reshape(-1, array.shape[-1]))
    return np.concatenate(arrays)


def _fit(fit, rows, chunk):
    for start in range(0, len(rows), chunk):
        fit.update(rows[start : start + chunk])
    return fit.scaler()


@pytest.mark.parametrize("chunk", [997, 8748, 100_000])
def test_streamed_standard_fit_equals_numpy_statistics(mala_be2, chunk):
    rows = _rows(mala_be2, TRAIN, "descriptors")
    scaler = _fit(StandardFit(), rows, chunk)
    exact = rows.astype(np.float64)
    np.testing.assert_allclose(scaler.shift.numpy(), exact.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scaler.scale.numpy(), exact.std(axis=0), rtol=1e-10)
    # the Be2 features span 0.04 ... 145 in spread: scaled, each has mean 0 and spread 1
    scaled = scaler.transform(torch.from_numpy(rows)).double()
    assert scaled.mean(dim=0).abs().max() < 1e-5
    assert (scaled.std(dim=0, unbiased=False) - 1).abs().max() < 1e-5


def test_transform_and_inverse_are_exact_inverses(mala_be2):
    rows = torch.from_numpy(_rows(mala_be2, TRAIN[:1], "descriptors")).double()
    scaler = _fit(StandardFit(), rows.numpy(), 4096)
    torch.testing.assert_close(
        scaler.inverse_transform(scaler.transform(rows)), rows, rtol=1e-13, atol=1e-12
    )
    in_place = scaler.transform_(rows.clone())
    torch.testing.assert_close(in_place, scaler.transform(rows), rtol=0, atol=0)


def test_minmax_maps_the_global_ldos_range_to_unit_interval_and_keeps_energy_ratios(mala_be2):
    ldos = _rows(mala_be2, TRAIN, "ldos")
    scaler = _fit(MinMaxFit(), ldos, 5000)
    assert scaler.shift.unique().item() == pytest.approx(float(ldos.min()))
    assert scaler.scale.unique().item() == pytest.approx(float(ldos.max() - ldos.min()))
    scaled = scaler.transform(torch.from_numpy(ldos)).double()
    assert scaled.min().item() == pytest.approx(0.0, abs=1e-6)
    assert scaled.max().item() == pytest.approx(1.0, abs=1e-6)
    # one affine map for all energies: the scaled DOS shape (mean over space) is the physical one
    exact = ldos.astype(np.float64)
    expected = (exact.mean(axis=0) - exact.min()) / (exact.max() - exact.min())
    np.testing.assert_allclose(scaled.mean(dim=0).numpy(), expected, rtol=0, atol=1e-6)


def test_standard_ldos_scaling_is_per_energy(mala_be2):
    ldos = _rows(mala_be2, TRAIN, "ldos")
    scaler = _fit(scaler_fit("standard", "ldos_scaling"), ldos, 5000)
    scaled = scaler.transform(torch.from_numpy(ldos)).double()
    assert scaled.mean(dim=0).abs().max() < 1e-5
    assert (scaled.std(dim=0, unbiased=False) - 1).abs().max() < 1e-5


def test_state_travels_through_weights_only_torch_load(mala_be2):
    rows = _rows(mala_be2, TRAIN[:1], "descriptors")
    scaler = _fit(StandardFit(), rows, 4096)
    buffer = io.BytesIO()
    torch.save(scaler.state_dict(), buffer)
    buffer.seek(0)
    restored = AffineScaler.from_state_dict(torch.load(buffer, weights_only=True))
    assert restored.kind == "standard"
    x = torch.from_numpy(rows[:100])
    torch.testing.assert_close(restored.transform(x), scaler.transform(x), rtol=0, atol=0)


def test_unknown_scaling_is_an_error_naming_the_key():
    with pytest.raises(InputError, match="ldos_scaling: expected one of"):
        scaler_fit("log", "ldos_scaling")


def test_fitting_nothing_is_an_error():
    with pytest.raises(InputError, match="no data to fit on"):
        StandardFit().scaler()
