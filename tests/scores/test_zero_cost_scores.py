"""The zero-cost scores on hand-checkable networks and on MALA's Be2 descriptors and LDOS."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference_data import BE2_ENERGY_GRID
from torch import nn

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import read_mala_snapshot
from ldos_surrogate.models.network import NetworkConfig, network_from_config
from ldos_surrogate.scores import ZERO_COST_SCORES, naswot_mean_score
from ldos_surrogate.scores.activation_scores import (
    activation_codes,
    activation_kernel_score,
    effective_rank,
    near_score,
)
from ldos_surrogate.scores.gradient_scores import (
    grad_norm_score,
    snip_score,
    synflow_score,
    zico_score,
)
from ldos_surrogate.scores.zero_cost import param_count_score

LOSS_SCORES = {"grad_norm", "snip", "zico"}


@pytest.fixture(scope="module")
def be2_batch(mala_be2) -> tuple[torch.Tensor, torch.Tensor]:
    """48 grid points of Be2 snapshot 0: descriptors standardised per feature, the LDOS
    min-max scaled to [0, 1] over the snapshot (training's default "minmax" scaling)."""
    snapshot = read_mala_snapshot(mala_be2 / "Be_snapshot0", BE2_ENERGY_GRID)
    descriptors = snapshot.descriptors()
    rows = np.asarray(descriptors.reshape(-1, descriptors.shape[-1]), dtype=np.float64)
    spread = rows.std(axis=0)
    scaled = (rows - rows.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    ldos = np.asarray(snapshot.ldos().reshape(-1, BE2_ENERGY_GRID.count), dtype=np.float64)
    ldos = (ldos - ldos.min()) / (ldos.max() - ldos.min())
    picked = np.random.default_rng(7).choice(rows.shape[0], size=48, replace=False)
    return (
        torch.tensor(scaled[picked], dtype=torch.float32),
        torch.tensor(ldos[picked], dtype=torch.float32),
    )


def ldos_network(widths=(None, 32, 32, None), activation="ReLU") -> nn.Module:
    return network_from_config(NetworkConfig(widths, activation), 91, BE2_ENERGY_GRID.count)


def fixed(network: nn.Module, *weights: list[list[float]]) -> nn.Module:
    """``network`` with its Linear layers' weights set to ``weights`` and zero biases."""
    linears = [m for m in network.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer, weight in zip(linears, weights, strict=True):
            layer.weight.copy_(torch.tensor(weight))
            if layer.bias is not None:
                layer.bias.zero_()
    return network


def call(name: str, build, inputs: torch.Tensor, targets: torch.Tensor, **options) -> float:
    entry = ZERO_COST_SCORES[name]
    data = (inputs, targets) if entry.needs_targets else (inputs,)
    return entry.function(build, *data, **options)


# ---- the registry ------------------------------------------------------------------------


def test_registry_names_every_score_and_which_need_targets():
    assert set(ZERO_COST_SCORES) == {
        "jacobian",
        "activation_kernel",
        "grad_norm",
        "snip",
        "synflow",
        "zico",
        "near",
        "param_count",
    }
    assert {n for n, e in ZERO_COST_SCORES.items() if e.needs_targets} == LOSS_SCORES
    assert ZERO_COST_SCORES["jacobian"].function is naswot_mean_score


@pytest.mark.parametrize("name", sorted(ZERO_COST_SCORES))
def test_every_score_is_deterministic_for_a_seed_and_leaves_the_generator(be2_batch, name):
    inputs, targets = be2_batch
    state = torch.random.get_rng_state()
    first = call(name, ldos_network, inputs, targets, n_inits=2, seed=3)

    assert math.isfinite(first)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert call(name, ldos_network, inputs, targets, n_inits=2, seed=3) == first
    other_seed = call(name, ldos_network, inputs, targets, n_inits=2, seed=4)
    if name == "param_count":
        assert other_seed == first == 91 * 32 + 32 + 32 * 32 + 32 + 32 * 11 + 11
    else:
        assert other_seed != first


@pytest.mark.parametrize("name", sorted(set(ZERO_COST_SCORES) - {"jacobian"}))
def test_plain_mean_over_the_initialisations(be2_batch, name):
    """T = 3 is the mean of the T = 1 scores of seeds s, s + 1, s + 2."""
    inputs, targets = be2_batch
    singles = [call(name, ldos_network, inputs, targets, n_inits=1, seed=s) for s in (5, 6, 7)]
    assert call(name, ldos_network, inputs, targets, n_inits=3, seed=5) == pytest.approx(
        sum(singles) / 3, rel=1e-12
    )


# ---- NASWOT's activation kernel ----------------------------------------------------------

# hidden units z = (x1, x2, x1 + x2): codes (1,1,1), (1,0,0), (0,1,0) for the three points, two
# disagreements per pair, so K_H = [[3,1,1],[1,3,1],[1,1,3]] and det K_H = 27 + 2 - 9 = 20
HIDDEN_WEIGHTS = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
THREE_POINTS = torch.tensor([[1.0, 1.0], [1.0, -2.0], [-2.0, 1.0]])


@pytest.mark.parametrize("activation", [nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU])
def test_kernel_log_determinant_of_known_codes(activation):
    """The code is the sign of the pre-activation, whatever the activation."""

    def build() -> nn.Module:
        network = nn.Sequential(nn.Linear(2, 3), activation(), nn.Linear(3, 1))
        return fixed(network, HIDDEN_WEIGHTS, [[1.0, 1.0, 1.0]])

    np.testing.assert_array_equal(
        activation_codes(build(), THREE_POINTS).numpy(), [[1, 1, 1], [1, 0, 0], [0, 1, 0]]
    )
    assert activation_kernel_score(build, THREE_POINTS, n_inits=2) == pytest.approx(
        math.log(20.0), rel=1e-12
    )
    # a fourth point with the code of the first: two equal rows, K_H singular
    four_points = torch.cat([THREE_POINTS, torch.tensor([[2.0, 3.0]])])
    assert activation_kernel_score(build, four_points, n_inits=1) == -math.inf


def hamming_kernel(codes: np.ndarray) -> np.ndarray:
    """K_H[i, j] = N_A - d_H(c_i, c_j) written out."""
    n, n_units = codes.shape
    return np.array(
        [[n_units - np.sum(codes[i] != codes[j]) for j in range(n)] for i in range(n)],
        dtype=np.float64,
    )


def test_kernel_equals_hamming_loops_on_be2(be2_batch):
    """Two hidden layers of 32 units: N_A = 64 codes per point, 48 distinct ones."""
    inputs, _ = be2_batch
    torch.manual_seed(0)
    network = ldos_network()
    codes = activation_codes(network, inputs).numpy()
    assert codes.shape == (48, 64) and len({tuple(c) for c in codes}) == 48
    sign, expected = np.linalg.slogdet(hamming_kernel(codes))
    assert sign > 0
    assert activation_kernel_score(lambda: network, inputs, n_inits=1) == pytest.approx(
        expected, rel=1e-12
    )


def test_equal_codes_of_two_be2_points_give_minus_infinity(be2_batch):
    """With this initialisation two distinct Be2 points share all 64 codes: K_H has two equal
    rows and is singular (its determinant in floating point is roundoff, not 0)."""
    inputs, _ = be2_batch
    torch.manual_seed(2)
    network = ldos_network()
    codes = activation_codes(network, inputs).numpy()
    assert len({tuple(c) for c in codes}) == 47
    assert np.linalg.matrix_rank(hamming_kernel(codes)) == 47
    assert activation_kernel_score(lambda: network, inputs, n_inits=1) == -math.inf


def test_dead_units_give_the_worst_kernel_score(be2_batch):
    inputs, _ = be2_batch

    def dead() -> nn.Module:
        network = ldos_network()
        with torch.no_grad():
            network.layers[0].bias.fill_(-1e6)
        return network

    assert activation_kernel_score(dead, inputs, n_inits=1) == -math.inf


# ---- NEAR ----------------------------------------------------------------------------------


def entropy_rank(sigma: list[float]) -> float:
    p = np.asarray(sigma) / sum(sigma)
    return math.exp(-sum(q * math.log(q) for q in p if q > 0))


def test_effective_rank_by_hand():
    assert effective_rank(torch.diag(torch.tensor([3.0, 1.0]))) == pytest.approx(
        entropy_rank([3.0, 1.0]), rel=1e-12
    )
    assert effective_rank(torch.diag(torch.tensor([2.0, 2.0, 0.0]))) == pytest.approx(2.0)
    assert effective_rank(torch.zeros(3, 3)) == 0.0


def test_near_of_a_hand_set_network():
    """Points (1, 0), (0, 2) through the identity and a ReLU: Z_1 = H_1 = diag(1, 2), erank of
    sigma (2, 1) each; the output layer (1 unit) takes the first point's value 1: erank 1."""

    def build() -> nn.Module:
        return fixed(
            nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)),
            [[1.0, 0.0], [0.0, 1.0]],
            [[1.0, 1.0]],
        )

    points = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert near_score(build, points, n_inits=2) == pytest.approx(
        2 * entropy_rank([2.0, 1.0]) + 1.0, rel=1e-12
    )


def test_near_counts_square_blocks_of_every_layer(be2_batch):
    """Widths 32, 32 and 11 outputs on 48 points: five matrices (two Linear + two ReLU of
    32 x 32, the output's 11 x 11), each erank at most its size."""
    inputs, _ = be2_batch
    score = near_score(ldos_network, inputs, n_inits=1)
    assert 5 < score <= 4 * 32 + 11


# ---- gradient scores ---------------------------------------------------------------------


def linear_gradients(weight: np.ndarray, bias: np.ndarray, x: np.ndarray, d: np.ndarray):
    """dL/dW and dL/db of L = mean over points and energies of (W x + b - d)^2, by hand."""
    residual = x @ weight.T + bias - d
    scale = 2.0 / residual.size
    return scale * residual.T @ x, scale * residual.sum(axis=0)


def single_linear() -> nn.Module:
    return nn.Linear(91, BE2_ENERGY_GRID.count)


@pytest.mark.parametrize("seed", [0, 1])
def test_grad_norm_and_snip_of_a_linear_network_by_hand(be2_batch, seed):
    inputs, targets = be2_batch
    torch.manual_seed(seed)
    network = single_linear()
    weight, bias = (p.detach().double().numpy() for p in network.parameters())
    grad_w, grad_b = linear_gradients(weight, bias, inputs.double().numpy(), targets.numpy())

    assert grad_norm_score(single_linear, inputs, targets, n_inits=1, seed=seed) == pytest.approx(
        np.linalg.norm(grad_w) + np.linalg.norm(grad_b), rel=1e-5
    )
    assert snip_score(single_linear, inputs, targets, n_inits=1, seed=seed) == pytest.approx(
        np.abs(weight * grad_w).sum() + np.abs(bias * grad_b).sum(), rel=1e-5
    )


def test_zico_of_a_linear_network_by_hand(be2_batch):
    """Two mini-batches of 24 points: per entry mean |g| / std g over the two, summed over
    the weight and the bias of the one layer, then the log."""
    inputs, targets = be2_batch
    torch.manual_seed(0)
    weight, bias = (p.detach().double().numpy() for p in single_linear().parameters())
    x, d = inputs.double().numpy(), targets.numpy().astype(np.float64)
    halves = [linear_gradients(weight, bias, x[s], d[s]) for s in (slice(0, 24), slice(24, 48))]
    total = 0.0
    for index in range(2):
        g = np.stack([half[index] for half in halves])
        spread = g.std(axis=0)
        total += np.sum(np.abs(g).mean(axis=0)[spread > 0] / spread[spread > 0])

    assert zico_score(single_linear, inputs, targets, n_inits=1, seed=0) == pytest.approx(
        math.log(total), rel=1e-4
    )


def test_zico_needs_two_mini_batches(be2_batch):
    inputs, targets = be2_batch
    for n_batches in (1, 49):
        with pytest.raises(InputError, match="n_batches"):
            zico_score(single_linear, inputs, targets, n_batches=n_batches)


def test_synflow_of_a_bias_free_relu_network_is_depth_times_r(be2_batch):
    """|theta| on ones: every ReLU passes its input, R = 1^T |W3| |W2| |W1| 1 is homogeneous
    of degree 3 in theta, so sum theta dR/dtheta = 3 R (Euler)."""
    inputs, _ = be2_batch

    def build() -> nn.Module:
        return nn.Sequential(
            nn.Linear(91, 20, bias=False),
            nn.ReLU(),
            nn.Linear(20, 16, bias=False),
            nn.ReLU(),
            nn.Linear(16, 11, bias=False),
        )

    torch.manual_seed(9)
    w1, w2, w3 = (np.abs(p.detach().double().numpy()) for p in build().parameters())
    r = np.ones(11) @ w3 @ w2 @ w1 @ np.ones(91)
    assert synflow_score(build, inputs, n_inits=1, seed=9) == pytest.approx(3 * r, rel=1e-12)


def test_synflow_of_one_linear_layer_with_bias(be2_batch):
    """R = sum |W| 1 + sum |b|: theta dR/dtheta is |W| for the weights and |b| for the bias."""
    inputs, _ = be2_batch
    torch.manual_seed(1)
    weight, bias = (np.abs(p.detach().double().numpy()) for p in single_linear().parameters())
    assert synflow_score(single_linear, inputs, n_inits=1, seed=1) == pytest.approx(
        weight.sum() + bias.sum(), rel=1e-12
    )


def test_param_count_of_a_known_layout(be2_batch):
    inputs, _ = be2_batch
    widths = (None, 100, 50, None)
    expected = (91 * 100 + 100) + (100 * 50 + 50) + (50 * 11 + 11)
    assert param_count_score(lambda: ldos_network(widths), inputs, n_inits=1) == expected


def test_bad_targets_name_the_argument(be2_batch):
    inputs, targets = be2_batch
    with pytest.raises(InputError, match="targets"):
        grad_norm_score(ldos_network, inputs, targets[:10])
    with pytest.raises(InputError, match="targets"):
        snip_score(ldos_network, inputs, torch.full_like(targets, float("nan")))
    with pytest.raises(InputError, match="n_inits"):
        near_score(ldos_network, inputs, n_inits=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", sorted(ZERO_COST_SCORES))
def test_cuda_score_matches_cpu(be2_batch, name):
    inputs, targets = be2_batch
    on_cpu = call(name, ldos_network, inputs, targets, n_inits=2)
    on_cuda = call(name, ldos_network, inputs.cuda(), targets.cuda(), n_inits=2)
    assert on_cuda == pytest.approx(on_cpu, rel=1e-4)
