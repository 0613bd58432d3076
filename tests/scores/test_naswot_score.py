"""NASWOT (seed Eq. 13-14) on real torch MLPs and MALA's Be2 descriptors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from reference_data import BE2_ENERGY_GRID
from torch import nn

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.models.network import ACTIVATIONS, NetworkConfig, network_from_config
from ldos_surrogate.scores.naswot import (
    CONVENTIONS,
    batch_jacobian,
    correlation_eigenvalues,
    jacobian_score,
    naswot_mean_score,
    naswot_score,
    stacked_initialisations,
)

K = 1e-4


@pytest.fixture(scope="module")
def be2_batch(mala_be2) -> torch.Tensor:
    """48 grid points of Be2 snapshot 0, descriptors standardised per feature."""
    descriptors = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID).descriptors()
    rows = np.asarray(descriptors.reshape(-1, descriptors.shape[-1]), dtype=np.float64)
    spread = rows.std(axis=0)
    scaled = (rows - rows.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    picked = np.random.default_rng(7).choice(rows.shape[0], size=48, replace=False)
    return torch.tensor(scaled[picked], dtype=torch.float32)


def relu_mlp(n_features: int = 91, width: int = 64, n_energies: int = 11) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_features, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, n_energies),
    )


def test_identical_rows_give_the_extreme_score(be2_batch):
    """A linear MLP has the same Jacobian row at every point: C is all ones, its eigenvalues
    are N, 0, ..., 0 and S takes its largest value (each term is largest at sigma = 0)."""
    torch.manual_seed(1)
    linear = nn.Sequential(nn.Linear(91, 40), nn.Linear(40, 11))
    n = be2_batch.shape[0]
    expected = math.log(n + K) + 1 / (n + K) + (n - 1) * (math.log(K) + 1 / K)

    assert naswot_score(linear, be2_batch) == pytest.approx(expected, rel=1e-9)
    assert naswot_score(linear, be2_batch, convention="original") == pytest.approx(
        -expected, rel=1e-9
    )
    torch.manual_seed(1)
    assert naswot_score(relu_mlp(), be2_batch) < expected


def test_orthogonal_rows_give_unit_eigenvalues():
    """The ReLU MLP x -> sum_f relu(x_f) + relu(-x_f) = sum_f |x_f| has Jacobian rows sign(x_i).
    Inputs = rows 2..128 of a Hadamard matrix: centred and mutually orthogonal, so C is the
    identity, every sigma = 1 and S = N [log(1 + k) + 1/(1 + k)], the smallest S."""
    hadamard = scipy.linalg.hadamard(128)
    inputs = torch.tensor(hadamard[1:], dtype=torch.float32)
    n, n_features = inputs.shape
    absolute_sum = nn.Sequential(
        nn.Linear(n_features, 2 * n_features, bias=False),
        nn.ReLU(),
        nn.Linear(2 * n_features, 1, bias=False),
    )
    with torch.no_grad():
        identity = torch.eye(n_features)
        absolute_sum[0].weight.copy_(torch.cat([identity, -identity]))
        absolute_sum[2].weight.fill_(1.0)

    assert torch.equal(batch_jacobian(absolute_sum, inputs), inputs)
    sigma = correlation_eigenvalues(batch_jacobian(absolute_sum, inputs))
    np.testing.assert_allclose(sigma.numpy(), np.ones(n), atol=1e-12)
    expected = n * (math.log(1 + K) + 1 / (1 + K))
    assert naswot_score(absolute_sum, inputs) == pytest.approx(expected, rel=1e-12)
    assert naswot_score(absolute_sum, inputs, convention="original") == pytest.approx(-expected)


def reference_score(jacobian: np.ndarray, k: float) -> float:
    """Eq. 13 written out with loops: Pearson correlation of every pair of rows, clamped."""
    n = jacobian.shape[0]
    correlation = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            a = jacobian[i] - jacobian[i].mean()
            b = jacobian[j] - jacobian[j].mean()
            r = sum(a * b) / math.sqrt(sum(a * a) * sum(b * b))
            correlation[i, j] = min(1.0, max(-1.0, r))
    total = 0.0
    for sigma in np.linalg.eigvalsh(correlation):
        total += math.log(sigma + k) + 1.0 / (sigma + k)
    return total


@pytest.mark.parametrize("width", [64, 20])  # 20 < N = 48: C is singular, 28 sigma ~ 0
def test_score_equals_loop_reference(be2_batch, width):
    torch.manual_seed(3)
    network = relu_mlp(width=width)
    jacobian = batch_jacobian(network, be2_batch)
    expected = reference_score(jacobian.double().numpy(), K)

    assert naswot_score(network, be2_batch) == pytest.approx(expected, rel=1e-10)
    assert jacobian_score(jacobian, k=1e-5) == pytest.approx(
        reference_score(jacobian.double().numpy(), 1e-5), rel=1e-10
    )


def test_batch_jacobian_equals_per_point_gradients(be2_batch):
    """One backward of the batch-summed output = the gradients taken one point at a time."""
    torch.manual_seed(4)
    network = nn.Sequential(nn.Linear(91, 32), nn.Tanh(), nn.Linear(32, 11), nn.Sigmoid())
    rows = []
    for point in be2_batch:
        single = point.clone().requires_grad_(True)
        network(single[None]).sum().backward()
        rows.append(single.grad)
    np.testing.assert_allclose(
        batch_jacobian(network, be2_batch).numpy(), torch.stack(rows).numpy(), atol=1e-6
    )


def test_mean_score_is_mean_plus_std_and_deterministic(be2_batch):
    state = torch.random.get_rng_state()
    first = naswot_mean_score(relu_mlp, be2_batch, n_inits=3, seed=10)

    assert torch.equal(torch.random.get_rng_state(), state)
    assert naswot_mean_score(relu_mlp, be2_batch, n_inits=3, seed=10) == first
    assert naswot_mean_score(relu_mlp, be2_batch, n_inits=3, seed=11) != first
    scores = []
    for t in range(3):
        torch.manual_seed(10 + t)
        scores.append(naswot_score(relu_mlp(), be2_batch))
    assert first == pytest.approx(np.mean(scores) + np.std(scores, ddof=1), rel=1e-12)


def test_dead_network_scores_minus_infinity(be2_batch):
    """Every ReLU inactive: all Jacobian rows are zero and have no correlation."""
    network = relu_mlp()
    with torch.no_grad():
        network[0].bias.fill_(-1e6)
    assert naswot_score(network, be2_batch) == -math.inf
    assert naswot_score(network, be2_batch, convention="original") == -math.inf


@pytest.mark.parametrize(
    ("arguments", "key"),
    [
        ({"n_inits": 1}, "n_inits"),
        ({"convention": "mellor"}, "convention"),
        ({"k": 0.0}, "k"),
    ],
)
def test_bad_settings_are_refused_before_any_network_is_built(be2_batch, arguments, key):
    def build_network() -> nn.Module:
        raise AssertionError("no network may be built")

    with pytest.raises(InputError, match=key):
        naswot_mean_score(build_network, be2_batch, **arguments)


def test_bad_inputs_name_the_argument():
    with pytest.raises(InputError, match="inputs"):
        naswot_score(relu_mlp(), torch.ones(1, 91))
    with pytest.raises(InputError, match="inputs"):
        naswot_score(relu_mlp(), torch.full((4, 91), float("nan")))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_score_matches_cpu(be2_batch):
    torch.manual_seed(5)
    network = relu_mlp()
    on_cpu = naswot_score(network, be2_batch)
    on_cuda = naswot_score(network, be2_batch.cuda())
    assert next(network.parameters()).is_cuda
    assert on_cuda == pytest.approx(on_cpu, rel=1e-5)
    assert naswot_mean_score(relu_mlp, be2_batch.cuda(), n_inits=2) == pytest.approx(
        naswot_mean_score(relu_mlp, be2_batch, n_inits=2), rel=1e-5
    )


def ldos_builder(n_hidden: int, activation: str, width: int = 40):
    """Builds the LdosNetwork 91 -> n_hidden x width -> 11 with ``activation``."""
    config = NetworkConfig((None, *[width] * n_hidden, None), activation)
    return lambda: network_from_config(config, 91, 11)


def test_reinitialising_in_place_draws_the_weights_of_a_fresh_build():
    """reset_parameters of the layers in construction order, under the re-seeded generator,
    gives bit for bit the weights that building the network under that seed gives."""
    build = ldos_builder(3, "Tanh")
    stacked = stacked_initialisations(build, 4, seed=20, device=torch.device("cpu"))
    for t in range(4):
        torch.manual_seed(20 + t)
        fresh = [m for m in build().modules() if isinstance(m, nn.Linear)]
        linears = [stack for layer, stack in stacked if isinstance(layer, nn.Linear)]
        for layer, (weights, biases) in zip(fresh, linears, strict=True):
            assert torch.equal(weights[t], layer.weight) and torch.equal(biases[t], layer.bias)


@pytest.mark.parametrize("n_hidden", [1, 2, 3, 4])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_one_pass_gives_the_scores_of_one_network_per_initialisation(
    be2_batch, n_hidden, activation
):
    """T = 5 initialisations scored in one batched pass = five networks built and scored one
    at a time, under both conventions, to float64 round-off."""
    build = ldos_builder(n_hidden, activation)
    for convention in CONVENTIONS:
        separate = naswot_mean_score(build, be2_batch, 5, seed=3, convention=convention)
        together = naswot_mean_score(
            build, be2_batch, 5, seed=3, convention=convention, one_pass=True
        )
        assert math.isfinite(separate)
        assert together == pytest.approx(separate, rel=1e-12)


def test_one_pass_refuses_networks_it_cannot_reinitialise(be2_batch):
    def with_norm() -> nn.Module:
        return nn.Sequential(nn.Linear(91, 16), nn.LayerNorm(16), nn.Linear(16, 11))

    def zero_bias() -> nn.Module:
        network = relu_mlp()
        nn.init.zeros_(network[0].bias)
        return network

    with pytest.raises(InputError, match="one_pass: .*LayerNorm"):
        naswot_mean_score(with_norm, be2_batch, 2, one_pass=True)
    with pytest.raises(InputError, match="one_pass: the network does not initialise"):
        naswot_mean_score(zero_bias, be2_batch, 2, one_pass=True)


def test_more_points_than_features_use_the_features_gram_matrix(mala_be2):
    """N = 256 > 91 features: the N x N correlation matrix has rank <= 91; its eigenvalues
    (from the 91 x 91 matrix U^T U plus 165 zeros) match the N x N solver's, whose 165
    round-off eigenvalues stay within 1e-12 of zero, and the score agrees to 1e-9."""
    descriptors = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID).descriptors()
    rows = np.asarray(descriptors.reshape(-1, 91), dtype=np.float64)
    picked = np.random.default_rng(8).choice(rows.shape[0], size=256, replace=False)
    scaled = (rows - rows.mean(axis=0)) / np.where(rows.std(axis=0) > 0, rows.std(axis=0), 1.0)
    torch.manual_seed(6)
    jacobian = batch_jacobian(relu_mlp(), torch.tensor(scaled[picked], dtype=torch.float32))
    sigma = correlation_eigenvalues(jacobian)
    centred = jacobian.double() - jacobian.double().mean(dim=1, keepdim=True)
    unit_rows = centred / torch.linalg.vector_norm(centred, dim=1, keepdim=True)
    full = torch.linalg.eigvalsh(torch.clamp(unit_rows @ unit_rows.T, -1.0, 1.0))
    assert sigma.shape == (256,) and float(sigma.sum()) == pytest.approx(256, rel=1e-12)
    np.testing.assert_allclose(sigma.numpy(), full.numpy(), atol=1e-12)
    shifted = full + K
    expected = float(torch.sum(torch.log(shifted) + 1.0 / shifted))
    assert jacobian_score(jacobian) == pytest.approx(expected, rel=1e-9)
