"""NASWOT searches end to end on the shipped Al data: every architecture scored at
initialisation, only the best trained (fixed); then Optuna over training hyperparameters
(optimized); T < 2 refused before any trial."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from search_runs import compose_with, run_search, write_method

from ldos_surrogate.models.network import network_from_config
from ldos_surrogate.scores import naswot_mean_score

ARCHITECTURES = """    naswot: {score: jacobian, n_inits: 2, batch_points: 32}
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,32,null])
      model.network.activations: choice(ReLU,Tanh)
"""
TINY_NASWOT = (
    "# @package _global_\ndefaults:\n  - override /hydra/sweeper: ldos_naswot\n"
    "hydra:\n  sweeper:\n" + ARCHITECTURES
)
TINY_NASWOT_OPTIMIZED = (
    "# @package _global_\ndefaults:\n  - override /hydra/sweeper: ldos_naswot_optimized\n"
    "hydra:\n  sweeper:\n" + ARCHITECTURES + "    training:\n      n_trials: 2\n"
    "      params:\n        model.optimizer.lr: tag(log, interval(5e-3, 3e-2))\n"
)
ARCHITECTURE_KEYS = ("model.network.layer_widths", "model.network.activations")
# 2 epochs at the default 1e-3 can leave a network whose DOS cannot hold the electrons (an
# infinite loss: a failed trial); this rate trains the tiny networks far enough
LEARNING_RATE = "model.optimizer.lr=1e-2"


def test_naswot_trains_only_the_best_scored_architecture(tmp_path: Path) -> None:
    write_method(tmp_path, "tiny_naswot", TINY_NASWOT)
    run = run_search(
        tmp_path, "al_naswot", "hparams_search=tiny_naswot", LEARNING_RATE, logger="wandb"
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = run.results
    scored, trained = rows[:4], rows[4:]
    assert [r["status"] for r in scored] == ["scored"] * 4
    best = max(scored, key=lambda r: float(r["score"]))
    (only,) = trained
    assert only["status"] == "complete" and only["trial"] == "4"
    assert [only[k] for k in ARCHITECTURE_KEYS] == [best[k] for k in ARCHITECTURE_KEYS]
    assert only["score"] == best["score"]
    assert "NASWOT: 4 architectures scored (2 initialisations each" in run.stdout
    run.assert_followable(total=5, method_view=True)

    # the score is Eq. 14 (T = 2) of the trial's network on 32 grid points of the first
    # training snapshot drawn with the trial's seed, scaled as for training
    trial_dir = run.sweep_dir / "trial_0004" / "seed_42"
    cfg = OmegaConf.load(trial_dir / "config.yaml")
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup("fit")
    points = datamodule.snapshot_inputs("train", 0)
    batch = points[torch.randperm(len(points), generator=torch.Generator().manual_seed(42))[:32]]
    network = OmegaConf.to_container(cfg.model.network)
    expected = naswot_mean_score(
        lambda: network_from_config(network, batch.shape[1], datamodule.n_energies),
        batch,
        n_inits=2,
        seed=42,
    )
    assert float(best["score"]) == pytest.approx(expected, rel=1e-9)

    # the summary scores every architecture again on a second batch (seed 43): the same
    # networks on other points, the chosen one's rank among the four and the rank correlation
    stability = re.search(
        r"NASWOT stability: on a second batch \(seed 43\) the chosen architecture scores "
        r"S' = (\S+), rank (\d) of 4; Kendall tau between the two rankings (\S+)",
        run.stdout,
    )
    assert stability, run.stdout[-2000:]
    second = points[torch.randperm(len(points), generator=torch.Generator().manual_seed(43))[:32]]
    again = naswot_mean_score(
        lambda: network_from_config(network, batch.shape[1], datamodule.n_energies),
        second,
        n_inits=2,
        seed=42,
    )
    assert float(stability[1]) == pytest.approx(again, rel=1e-5)
    assert again != pytest.approx(expected, rel=1e-6)  # another batch, another score
    assert 1 <= int(stability[2]) <= 4 and -1 <= float(stability[3]) <= 1

    # W&B (offline) groups the search's runs under its name
    assert cfg.logger.wandb.group == "al_naswot"
    assert cfg.logger.wandb.name == "al_naswot/trial_0004/seed_42"
    assert list((trial_dir / "wandb").glob("offline-run-*"))


def test_naswot_optimized_tunes_training_of_the_chosen_architecture(tmp_path: Path) -> None:
    write_method(tmp_path, "tiny_naswot_optimized", TINY_NASWOT_OPTIMIZED)
    run = run_search(
        tmp_path, "al_naswot_opt", "hparams_search=tiny_naswot_optimized", LEARNING_RATE
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = run.results
    scored, chosen, tuned = rows[:4], rows[4], rows[5:]
    # scoring and the first training use the config's learning rate
    assert {r["model.optimizer.lr"] for r in [*scored, chosen]} == {"0.01"}
    assert [r["trial"] for r in tuned] == ["5", "6"]
    for row in tuned:
        assert [row[k] for k in ARCHITECTURE_KEYS] == [chosen[k] for k in ARCHITECTURE_KEYS]
        assert 5e-3 <= float(row["model.optimizer.lr"]) <= 3e-2
        assert row["status"] == "complete"
    assert "Optuna over ['model.optimizer.lr']: 2 trials" in run.stdout
    run.assert_followable(total=7, method_view=True)
    best = min([chosen, *tuned], key=lambda r: float(r["loss"]))
    experiment = compose_with(run.conf_dir, "train", "experiment=al_naswot_opt")
    assert experiment.model.optimizer.lr == float(best["model.optimizer.lr"])
    widths = json.loads(best["model.network.layer_widths"])
    assert list(experiment.model.network.layer_widths) == widths


def test_fewer_than_two_initialisations_are_refused_before_any_trial(tmp_path: Path) -> None:
    write_method(tmp_path, "tiny_naswot", TINY_NASWOT)
    run = run_search(
        tmp_path, "al_naswot", "hparams_search=tiny_naswot", "hydra.sweeper.naswot.n_inits=1"
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1] == (
        "error: hydra.sweeper.naswot.n_inits: must be an integer >= 2, got 1"
    )
    assert not (run.sweep_dir / "results.csv").exists()
