"""The NASWOT searches' score as a config choice (``hydra.sweeper.naswot.score``): every
zero-cost score through the search's scorer on the shipped Al data, and a search with one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from search_runs import SMALL_TRAINING, compose_with, run_search, write_method

from ldos_surrogate.models.network import network_from_config
from ldos_surrogate.scores import ZERO_COST_SCORES, naswot_mean_score
from ldos_surrogate.scores.gradient_scores import zico_score
from ldos_surrogate.search.naswot_scoring import NaswotScorer, NaswotSettings

TINY_ZICO = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_naswot
hydra:
  sweeper:
    naswot: {score: zico, n_inits: 2, batch_points: 32}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,32,null])
      model.network.activations: choice(ReLU,Tanh)
"""


@pytest.fixture(scope="module")
def trial_cfg(tmp_path_factory):
    cfg = compose_with(tmp_path_factory.mktemp("conf"), "train", *SMALL_TRAINING, "seed=7")
    cfg.model.network.layer_widths = [None, 16, 16, None]
    return cfg


def scaled_batch(cfg, batch_points: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The batch written out: points drawn with the trial's seed from the whole first training
    snapshot, descriptors and LDOS scaled by the training scalers."""
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup("fit")
    inputs = datamodule.snapshot_inputs("train", 0)
    ldos = datamodule.snapshots("train")[0].ldos()
    targets = datamodule.scalers[1].transform(torch.from_numpy(ldos.reshape(-1, ldos.shape[-1])))
    generator = torch.Generator().manual_seed(int(cfg.seed))
    chosen = torch.randperm(len(inputs), generator=generator)[:batch_points]
    return inputs[chosen], targets[chosen], datamodule.n_energies


def test_every_score_runs_through_the_scorer(trial_cfg):
    scores = {
        name: NaswotScorer(NaswotSettings(score=name, n_inits=2, batch_points=24), "n").score(
            trial_cfg
        )
        for name in ZERO_COST_SCORES
    }
    assert all(math.isfinite(value) for value in scores.values()), scores
    inputs, targets, n_energies = scaled_batch(trial_cfg, 24)
    n_features = inputs.shape[1]
    assert scores["param_count"] == (n_features + 1) * 16 + 17 * 16 + 17 * n_energies

    # the default is synflow, the score that ranked the 32-atom networks best
    # (benchmarks/README.md, zero_cost_scores); jacobian and zico on the batch written out
    assert NaswotSettings().score == "synflow"
    network = OmegaConf.to_container(trial_cfg.model.network)

    def build() -> torch.nn.Module:
        return network_from_config(network, inputs.shape[1], n_energies)

    assert scores["jacobian"] == naswot_mean_score(build, inputs, n_inits=2, seed=7)
    assert scores["zico"] == pytest.approx(
        zico_score(build, inputs, targets, n_inits=2, seed=7), rel=1e-12
    )


def test_naswot_search_with_the_zico_score(tmp_path: Path) -> None:
    write_method(tmp_path, "tiny_zico", TINY_ZICO)
    run = run_search(tmp_path, "al_zico", "hparams_search=tiny_zico", "model.optimizer.lr=1e-2")
    assert run.returncode == 0, run.stderr[-3000:]
    scored, (trained,) = run.results[:4], run.results[4:]
    assert [r["status"] for r in scored] == ["scored"] * 4
    best = max(scored, key=lambda r: float(r["score"]))
    assert trained["status"] == "complete" and trained["score"] == best["score"]
    cfg = OmegaConf.load(run.sweep_dir / "trial_0004" / "seed_42" / "config.yaml")
    inputs, targets, n_energies = scaled_batch(cfg, 32)
    network = OmegaConf.to_container(cfg.model.network)
    expected = zico_score(
        lambda: network_from_config(network, inputs.shape[1], n_energies),
        inputs,
        targets,
        n_inits=2,
        seed=42,
    )
    assert float(best["score"]) == pytest.approx(expected, rel=1e-9)
