"""The search space, data and budgets that the search benchmarks share (``hpo_comparison``,
``naswot_correlation``, ``zero_cost_scores``): the same scale gives the same Optuna study, so
benchmarks run on one scratch folder share its trials. One scale per data set and mode."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import AL32_TEST, BAND, TOTAL, compose_train, mean_std, resumable, train_quietly
from omegaconf import OmegaConf

from ldos_surrogate.search.space import parse_space


@dataclass(frozen=True)
class Scale:
    """Data, epochs and search sizes of one mode."""

    data: tuple[str, ...]  # overrides of the data set, its split and the base experiment
    max_epochs: int
    # of every training whose rate is not searched (NASWOT's); quick: 4 epochs at 1e-3 left
    # networks whose DOS cannot hold the electrons (an infinite loss fails the trial)
    learning_rate: float
    architecture: dict[str, str]  # config key -> Hydra choice()
    training: dict[str, str]
    optuna_trials: int
    pruner_trials: int  # of Optuna + NASWOT pruner
    optuna_startup: int
    naswot_inits: int
    training_trials: int  # of NASWOT optimized
    seeds: tuple[int, ...]  # retraining of each choice


QUICK = Scale(
    data=("data.train=[snapshot_0000,snapshot_0001]", "data.val=[snapshot_0005]"),
    max_epochs=4,
    learning_rate=1e-2,
    architecture={
        "model.network.layer_widths": "choice([null,32,null],[null,64,64,null])",
        "model.network.activations": "choice(ReLU,Tanh)",
    },
    training={"model.optimizer.lr": "choice(1e-3,1e-2)"},
    optuna_trials=4,
    pruner_trials=4,
    optuna_startup=2,
    naswot_inits=2,
    training_trials=2,
    seeds=(0, 1),
)
FULL = Scale(
    data=(),  # train 0-4, validate 5, test 6-7 (data/al_fcc_298K)
    max_epochs=10,
    learning_rate=1e-3,  # the config's
    architecture={
        "model.network.layer_widths": (
            "choice([null,32,null],[null,64,64,null],[null,128,128,null],[null,64,64,64,64,null])"
        ),
        "model.network.activations": "choice(ReLU,LeakyReLU,Sigmoid,Tanh)",
    },
    training={
        "model.optimizer.lr": "choice(1e-4,1e-3,3e-3,1e-2)",
        "callbacks.early_stopping.patience": "choice(3,5,10)",
    },
    optuna_trials=20,
    pruner_trials=20,
    optuna_startup=8,
    naswot_inits=5,
    training_trials=6,
    seeds=(0, 1, 2, 3, 4),
)
# The 32-atom set, sized for ~2 h on 2 cores: the al32 experiment (solved output layer, cosine
# schedule) trained 3 epochs on 3 of its 10 training snapshots, validated on 1, tested on both
# test snapshots. The space: 1-4 hidden layers of 32 or 512 (8 layouts) x 4 activations = 32
# architectures; learning rate, mini-batch size, early-stopping patience (1 can stop a
# 3-epoch training after epoch 2, 3 never does).
_LAYOUTS = [
    "[null," + ",".join([str(width)] * depth) + ",null]"
    for depth in (1, 2, 3, 4)
    for width in (32, 512)
]
AL32 = Scale(
    data=(
        "experiment=al32",
        "data.train=[snapshot_0000,snapshot_0004,snapshot_0008]",
        "data.val=[snapshot_0010]",
        f"data.test=[{','.join(AL32_TEST)}]",
    ),
    max_epochs=3,
    learning_rate=1e-3,
    architecture={
        "model.network.layer_widths": f"choice({','.join(_LAYOUTS)})",
        "model.network.activations": "choice(ReLU,LeakyReLU,Sigmoid,Tanh)",
    },
    training={
        "model.optimizer.lr": "choice(1e-4,1e-3,1e-2)",
        "data.batch_size": "choice(256,1024)",
        "callbacks.early_stopping.patience": "choice(1,3)",
    },
    optuna_trials=60,  # also the trials of naswot_correlation.py (the same study)
    pruner_trials=40,
    optuna_startup=20,
    naswot_inits=5,
    training_trials=6,
    seeds=(0, 1, 2, 3, 4),
)
SCALES = {"al_fcc_298K": (QUICK, FULL), "al32_298K": (QUICK, AL32)}
# grid points of the NASWOT batch in these benchmarks' committed runs (the searches' default
# is 1024 since naswot_stability; activation_kernel's N x N kernel is singular once N exceeds
# twice the hidden units)
NASWOT_BATCH_POINTS = 64
METHODS = ("direct", "optuna", "optuna_naswot", "oat", "naswot", "naswot_optimized")


def scale_of(folder: Path, quick: bool) -> Scale:
    """The mode's scale for the data set in ``folder`` (its name says which)."""
    if folder.name not in SCALES:
        sys.exit(f"--data {folder}: not one of the known data sets {sorted(SCALES)}")
    return SCALES[folder.name][0 if quick else 1]


def architectures(scale: Scale) -> list[list[str]]:
    """Every architecture of the scale's space (all combinations of its choices, in the
    order the NASWOT search scores them), each as its config overrides."""
    space = parse_space(scale.architecture, settings_key="architecture")
    return [space.overrides(values) for values in space.grid("architecture")]


def method_yaml(method: str, scale: Scale) -> dict[str, Any]:
    """The search config of ``method`` over the shared space of ``scale``."""
    everything = scale.architecture | scale.training
    sampler = {
        "_target_": "optuna.samplers.TPESampler",
        "seed": 42,
        "n_startup_trials": scale.optuna_startup,
    }
    optuna = {"n_trials": scale.optuna_trials, "repeats": 1, "sampler": sampler}
    # the seed's score, whatever the searches' default: the comparison is the paper's
    naswot = {
        "score": "jacobian",
        "n_inits": scale.naswot_inits,
        "batch_points": NASWOT_BATCH_POINTS,
    }
    sweeper: dict[str, Any] = {
        "direct": {"repeats": 1, "params": everything},
        "optuna": optuna | {"params": everything},
        "optuna_naswot": optuna
        | {
            "n_trials": scale.pruner_trials,
            "params": everything,
            "naswot": naswot,
            "pruner": {"quantile": 0.5, "warmup": scale.optuna_startup},
        },
        "oat": {"repeats": 1, "params": everything},
        "naswot": {"params": scale.architecture, "naswot": naswot},
        "naswot_optimized": {
            "params": scale.architecture,
            "naswot": naswot,
            "training": {
                "n_trials": scale.training_trials,
                "params": scale.training,
                "sampler": sampler | {"n_startup_trials": scale.training_trials // 2},
            },
        },
    }[method]
    return {
        "defaults": [{"override /hydra/sweeper": f"ldos_{method}"}],
        "trainer": {"max_epochs": scale.max_epochs},
        "model": {"optimizer": {"lr": scale.learning_rate}},
        "hydra": {"sweeper": sweeper},
    }


def evaluate_choice(scratch: Path, name: str, scale: Scale, keys: list[str]) -> dict[str, Any]:
    """Train ``experiment=<name>`` (the file the search wrote: its data, split and every value
    of the best trial) with every seed of ``scale``; test MAEs, mean and std. Each training is
    a step named by the whole composed configuration and the seed: methods that choose the
    same configuration share its trainings."""
    band, total = [], []
    for seed in scale.seeds:
        cfg = compose_train(
            scratch / "eval" / name / f"seed_{seed}",
            f"experiment={name}",
            f"seed={seed}",
            "test=true",
            conf=scratch / "conf",
        )
        chosen = {key: _plain(OmegaConf.select(cfg, key)) for key in keys}
        digest = configuration_digest(cfg)

        def retrain(cfg=cfg) -> dict[str, Any]:
            metrics = train_quietly(cfg)
            return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}

        metrics = resumable(scratch, f"eval_{digest}_seed{seed}", retrain)
        band.append(metrics[BAND])
        total.append(metrics[TOTAL])
    return {
        "chosen": chosen,
        **mean_std("mae_band_mev_per_atom", band),
        **mean_std("mae_total_mev_per_atom", total),
        "mae_band_per_seed": band,
        "mae_total_per_seed": total,
        "constant_guess_band_mev_per_atom": metrics.get(CONSTANT_BAND),
        "constant_guess_total_mev_per_atom": metrics.get(CONSTANT_TOTAL),
    }


def configuration_digest(cfg: Any) -> str:
    """12 hex digits naming a composed training configuration, less where it writes and its
    seed (interpolations unresolved, so the output folder does not enter)."""
    content = OmegaConf.to_container(cfg, resolve=False)
    for key in ("paths", "seed"):
        content.pop(key, None)
    return hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]


CONSTANT_BAND = "test/band_energy_constant_mae_mev_per_atom"
CONSTANT_TOTAL = "test/total_free_energy_constant_mae_mev_per_atom"


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
