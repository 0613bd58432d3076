"""The Optuna search end to end on the shipped Al data: trials trained over two seeds, the study
in SQLite, the summary, the experiment file; and bad input refused before any trial."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from search_runs import BAND_ENERGY, REPO, compose_with, run_search, write_method

TINY_OPTUNA = """# @package _global_
defaults:
  - override /hydra/sweeper: ldos_optuna
hydra:
  sweeper:
    n_trials: 3
    repeats: 2
    sampler:
      _target_: optuna.samplers.TPESampler
      seed: 7
    params:
      model.network.layer_widths: choice([null,16,null],[null,32,32,null])
      model.optimizer.lr: tag(log, interval(5e-3, 3e-2))
"""
LR_LINE = "model.optimizer.lr: tag(log, interval(5e-3, 3e-2))"
SEARCH_ONLY = ("search", "task_name", "test")


def training_values(config) -> dict:
    """A config without the search's own keys (what a trial trains)."""
    values = OmegaConf.to_container(config)
    return {key: value for key, value in values.items() if key not in SEARCH_ONLY}


def test_optuna_trains_each_trial_over_seeds_and_writes_a_reproducing_experiment(
    tmp_path: Path,
) -> None:
    write_method(tmp_path, "tiny_optuna", TINY_OPTUNA)
    run = run_search(tmp_path, "al_tpe", "hparams_search=tiny_optuna")
    assert run.returncode == 0, run.stderr[-3000:]
    rows = run.results
    assert [row["status"] for row in rows] == ["complete"] * 3

    # a trial's loss is the mean over its seeds of each run's validation band-energy error
    for row in rows:
        folder = run.sweep_dir / f"trial_{int(row['trial']):04d}"
        per_seed = [
            json.loads((folder / f"seed_{seed}" / "metrics.json").read_text())[BAND_ENERGY]
            for seed in (42, 43)
        ]
        assert [float(v) for v in row["loss_per_seed"].split(";")] == per_seed
        assert float(row["loss"]) == pytest.approx(sum(per_seed) / 2, rel=1e-12)
        assert float(row["band_energy_mae_mev_per_atom"]) == float(row["loss"])
    best = min(rows, key=lambda row: float(row["loss"]))
    assert 0 < float(best["loss"]) < 2000  # meV/atom after 2 epochs on 2 snapshots

    # the study holds the same trials and values (SQLite in the search folder)
    study = optuna.load_study(study_name="al_tpe", storage=f"sqlite:///{run.sweep_dir}/optuna.db")
    assert [t.value for t in study.trials] == [float(row["loss"]) for row in rows]
    assert (
        study.trials[0].params["model.network.layer_widths"]
        == rows[0]["model.network.layer_widths"]
    )

    assert "Search 'al_tpe' (optuna): 3 trials (3 complete)" in run.stdout
    run.assert_followable(total=3, method_view=False)
    # the experiment lies outside train.yaml's search path: the hint adds it
    searchpath = f"'hydra.searchpath=[file://{run.conf_dir}]'"
    hint = f"{sys.executable} {REPO / 'train.py'} {searchpath} experiment=al_tpe"
    assert f"train it: {hint}" in run.stdout

    # train.py experiment=al_tpe composes to the best trial's configuration (seed 42 run)
    trial_config = OmegaConf.load(
        run.sweep_dir / f"trial_{int(best['trial']):04d}" / "seed_42" / ".hydra" / "config.yaml"
    )
    experiment = compose_with(run.conf_dir, "train", "experiment=al_tpe")
    assert training_values(experiment) == training_values(trial_config)
    assert experiment.model.optimizer.lr == float(best["model.optimizer.lr"])


@pytest.mark.parametrize(
    ("line", "overrides", "message"),
    [
        (
            LR_LINE,
            ["hydra.sweeper.storage=sqlite:////no/such/folder/optuna.db"],
            "error: hydra.sweeper.storage: cannot open 'sqlite:////no/such/folder/optuna.db'",
        ),
        (
            "model.network.widthz: choice(8,16)",
            [],
            "error: hydra.sweeper.params.model.network.widthz: not a key of the config",
        ),
        (
            "model.network.activations: choice(ReLU,Relux)",
            [],
            "error: model.network.activations[0]: unknown activation 'Relux'",
        ),
    ],
)
def test_bad_input_stops_before_any_trial(
    tmp_path: Path, line: str, overrides: list[str], message: str
) -> None:
    write_method(tmp_path, "tiny_optuna", TINY_OPTUNA.replace(LR_LINE, line))
    run = run_search(tmp_path, "bad", "hparams_search=tiny_optuna", *overrides)
    assert run.returncode == 2, run.stderr[-3000:]
    assert run.stderr.strip().splitlines()[-1].startswith(message)
    assert not list(run.sweep_dir.glob("trial_*"))
