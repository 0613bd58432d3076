"""The solved output layer on the shipped 4-atom Al data: least-squares optimality, the DOS of
the training set reproduced at every energy, each snapshot's DOS pulled to its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ldos_surrogate.data.datamodule import LdosDataModule
from ldos_surrogate.errors import InputError
from ldos_surrogate.models.module import LdosModule
from ldos_surrogate.models.network import network_from_config
from ldos_surrogate.models.output_fit import fit_output_layer

AL_DATASET = Path(__file__).resolve().parents[2] / "data" / "al_fcc_298K"
TRAIN = ["snapshot_0000", "snapshot_0001", "snapshot_0002"]


@pytest.fixture(scope="module")
def datamodule() -> LdosDataModule:
    if not (AL_DATASET / "manifest.json").exists():
        pytest.skip(f"shipped Al data set not found at {AL_DATASET}")
    datamodule = LdosDataModule(
        AL_DATASET, TRAIN, ["snapshot_0005"], descriptor_params={"rcut": 4.67637, "twojmax": 10}
    )
    datamodule.setup("fit")
    return datamodule


def training_points(datamodule: LdosDataModule) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per training snapshot its scaled (descriptors, LDOS), whole."""
    pairs = []
    for index in range(len(TRAIN)):
        chunks = list(datamodule.snapshot_chunks("train", index, chunk_points=1000))
        pairs.append(tuple(torch.cat(parts) for parts in zip(*chunks, strict=True)))
    return pairs


def solved_network(datamodule: LdosDataModule, snapshot_weight: float, ridge: float = 0.0):
    torch.manual_seed(3)
    network = network_from_config({"layer_widths": [None, 32, None]}, 91, datamodule.n_energies)
    network.double()
    chunks = (
        ((x.double(), y.double()) for x, y in datamodule.snapshot_chunks("train", index, 1000))
        for index in range(len(TRAIN))
    )
    fit_output_layer(network.hidden_features, network.output_layer, chunks, snapshot_weight, ridge)
    return network


def test_plain_fit_is_the_least_squares_solution_and_reproduces_the_training_dos(
    datamodule: LdosDataModule,
) -> None:
    network = solved_network(datamodule, snapshot_weight=0.0)
    inputs, targets = (
        torch.cat(parts).double() for parts in zip(*training_points(datamodule), strict=True)
    )
    with torch.no_grad():
        features = network.hidden_features(inputs)
        design = torch.cat([features, torch.ones(len(features), 1, dtype=features.dtype)], 1)
        reference = torch.linalg.lstsq(design, targets).solution
        solved = torch.cat([network.output_layer.weight.T, network.output_layer.bias[None]])
        torch.testing.assert_close(solved, reference, rtol=1e-6, atol=1e-8)
        residual = network(inputs) - targets
    # with the bias in the fit, the residuals sum to zero at every energy: the DOS (Eq. 5) of
    # the three training snapshots together is reproduced, to rounding
    assert residual.mean(dim=0).abs().max() < 1e-10 * targets.abs().max()


def test_snapshot_weight_pulls_each_training_snapshot_to_its_own_dos(
    datamodule: LdosDataModule,
) -> None:
    def worst_dos_error(network) -> float:
        with torch.no_grad():
            return max(
                float((network(x.double()) - y.double()).mean(dim=0).abs().max())
                for x, y in training_points(datamodule)
            )

    plain = worst_dos_error(solved_network(datamodule, snapshot_weight=0.0))
    weighted = worst_dos_error(solved_network(datamodule, snapshot_weight=1e4))
    assert weighted < 0.02 * plain


def test_output_fit_needs_a_linear_output_layer() -> None:
    with pytest.raises(InputError, match="model.output_fit: needs a linear output layer"):
        LdosModule(
            network={"layer_widths": [None, 8, None], "output_activation": "Softplus"},
            n_features=91,
            n_energies=11,
            energy_setup={},
            output_fit={"snapshot_weight": 1.0},
        )
