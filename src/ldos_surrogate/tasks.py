"""The one task function: a composed config in, a trained and tested model and its metrics out.

`train` is what ``python train.py`` runs and what every hyperparameter search calls per
trial. Everything that can be checked without training is checked first (config values,
split names, data arrays, network widths against the data, a resume checkpoint against the
descriptor settings), so bad input fails in seconds with one InputError. The run directory
(``paths.output_dir``) receives the resolved config, the checkpoints, ``metrics.json`` (test
errors beside those of the constant guess), the DOS plot of the first test snapshot, the
parity plot of the test energies and the training curve. Every call is one run for the
loggers (`one_logger_run`), in whatever process it happens.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf

from ldos_surrogate.data.datamodule import LdosDataModule
from ldos_surrogate.descriptors import SnapParams
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.atomic import atomic_write_text
from ldos_surrogate.models.config import (
    OptimizerConfig,
    OutputFitConfig,
    SchedulerConfig,
    from_mapping,
)
from ldos_surrogate.models.metrics import GUESSED_ENERGIES, EnergySetup
from ldos_surrogate.models.module import VAL_METRIC, LdosModule
from ldos_surrogate.models.network import NetworkConfig
from ldos_surrogate.models.plots import plot_dos, plot_parity, plot_training_curve
from ldos_surrogate.models.predictor import DATAMODULE_STATE_KEY, load_checkpoint

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
OUTPUT_FIT_CHECKPOINT = "output_fit.ckpt"
CONFIG_FILE = "config.yaml"
MODEL_KEYS = {
    "network",
    "optimizer",
    "scheduler",
    "output_fit",
    "compile",
    "inference_batch_size",
}
# what a target raises when its own checks reject a config value
TARGET_CHECK_ERRORS = (InputError, MisconfigurationException)


def one_logger_run(task: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Make every call of ``task`` one run for its loggers.

    Lightning finalizes each logger after fit and test and when they fail, but the W&B run a
    WandbLogger opens lives on in the process, and the next WandbLogger of that process logs
    into it: the trials of a search under Hydra's basic launcher (all in one process) or in a
    reused joblib worker would share one run. So the W&B run is finished when ``task``
    returns (exit code 0) or raises (exit code 1), and the next call opens its own.
    """

    @functools.wraps(task)
    def run(cfg: DictConfig) -> Any:
        try:
            result = task(cfg)
        except BaseException:
            finish_wandb_run(exit_code=1)
            raise
        finish_wandb_run(exit_code=0)
        return result

    return run


def finish_wandb_run(exit_code: int) -> None:
    """Finish the process's W&B run, if a logger opened one (W&B imported only by its logger)."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=exit_code)


@one_logger_run
def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit, test with the best checkpoint, write ``metrics.json``; return the metrics
    (``val/band_energy_mae_mev_per_atom`` is the best epoch's, the one searches minimise)."""
    output_dir = Path(cfg.paths.output_dir)
    atomic_write_text(output_dir / CONFIG_FILE, OmegaConf.to_yaml(cfg, resolve=True))
    if cfg.get("seed") is not None:
        lightning.seed_everything(cfg.seed, workers=True)
    if cfg.get("torch_threads"):
        torch.set_num_threads(cfg.torch_threads)
    # Weights that decay below 1e-38 (denormal floats) made CPU training steps 9x slower.
    torch.set_flush_denormal(True)

    model = model_settings(cfg.model)
    datamodule: LdosDataModule = instantiate_checked(cfg.data, "data")
    datamodule.setup("fit")
    module = build_module(model, datamodule, cfg.paths.get("pseudo_dirs") or [])
    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path:
        check_resumable(ckpt_path, datamodule, module)

    callbacks = instantiate_group(cfg, "callbacks")
    loggers = instantiate_group(cfg, "logger")
    trainer: lightning.Trainer = instantiate_checked(
        cfg.trainer, "trainer", callbacks=callbacks, logger=loggers or False
    )
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    fit_seconds = time.perf_counter() - started
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    metrics: dict[str, Any] = {
        VAL_METRIC: min((h[VAL_METRIC] for h in module.history), default=None),
        "epochs": trainer.current_epoch,
        "fit_seconds": fit_seconds,
        "best_checkpoint": best or None,
    }
    if module.output_fit_config is not None:
        metrics |= solve_output_layer(trainer, module, best, output_dir)
        best = metrics["best_checkpoint"]
    history = module.history  # loading the best checkpoint restores the history up to it
    if cfg.get("test") and datamodule.snapshots("test"):
        trainer.test(module, datamodule=datamodule, ckpt_path=best or None)
        metrics |= test_metrics(module)
    metrics["history"] = module.history = history
    if trainer.is_global_zero:  # one process writes the results of a DDP run
        write_results(metrics, module, datamodule, output_dir)
    for logger in loggers:
        logger.finalize("success")
    return metrics


def solve_output_layer(
    trainer: lightning.Trainer, module: LdosModule, best: str, output_dir: Path
) -> dict[str, Any]:
    """The best epoch's network with its output layer solved on the training points
    (``model.output_fit``), the network its validation scored, saved as
    ``checkpoints/output_fit.ckpt``: the model that is tested and shipped."""
    if best:
        module.load_state_dict(load_checkpoint(best)["state_dict"])
    started = time.perf_counter()
    module.solve_output_layer()
    path = (Path(best).parent if best else output_dir / "checkpoints") / OUTPUT_FIT_CHECKPOINT
    trainer.save_checkpoint(path)
    return {"output_fit_seconds": time.perf_counter() - started, "best_checkpoint": str(path)}


def instantiate_checked(node: DictConfig, key: str, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` (``kwargs`` as given there) whose rejection of a config value
    by the target's own checks (our InputError, Lightning's MisconfigurationException) reaches
    the user as one InputError naming the config key, not wrapped in Hydra's error."""
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as error:
        if isinstance(error.__cause__, TARGET_CHECK_ERRORS):
            raise InputError(f"{key}: {error.__cause__}") from error
        raise


def instantiate_group(cfg: DictConfig, group: str) -> list[Any]:
    """The objects of a config group that holds several (``callbacks``, ``logger``)."""
    nodes = cfg.get(group) or {}
    return [instantiate_checked(node, f"{group}.{name}") for name, node in nodes.items() if node]


def model_settings(model_cfg: DictConfig) -> dict[str, Any]:
    """The ``model`` config as plain values, checked before any data is read."""
    model = OmegaConf.to_container(model_cfg, resolve=True)
    unknown = set(model) - MODEL_KEYS
    if unknown:
        raise InputError(f"model: unknown keys {sorted(unknown)}")
    NetworkConfig.from_dict(model.get("network") or {})
    from_mapping(OptimizerConfig, model.get("optimizer"), "model.optimizer")
    if model.get("scheduler") is not None:
        from_mapping(SchedulerConfig, model["scheduler"], "model.scheduler")
    if model.get("output_fit") is not None:
        from_mapping(OutputFitConfig, model["output_fit"], "model.output_fit")
    return model


def build_module(
    model: dict[str, Any], datamodule: LdosDataModule, pseudo_dirs: list[str]
) -> LdosModule:
    """The LightningModule for this data (widths, energy setup from its training split)."""
    setup = EnergySetup.from_snapshots(datamodule.snapshots("train"), pseudo_dirs)
    if setup.no_total_reason:
        log.info("total free energy not evaluated: %s", setup.no_total_reason)
    return LdosModule(
        n_features=datamodule.n_features,
        n_energies=datamodule.n_energies,
        energy_setup=setup.to_dict(),
        **model,
    )


def check_resumable(ckpt_path: str, datamodule: LdosDataModule, module: LdosModule) -> None:
    """A checkpoint to resume from must share the descriptor settings and the network."""
    checkpoint = load_checkpoint(ckpt_path)
    saved = SnapParams.from_dict(checkpoint[DATAMODULE_STATE_KEY]["descriptor_params"])
    if saved != datamodule.descriptor_params:
        raise InputError(
            f"ckpt_path {ckpt_path}: trained with descriptors {saved.to_dict()}, the config "
            f"asks for {datamodule.descriptor_params.to_dict()}"
        )
    hparams = checkpoint["hyper_parameters"]
    widths = NetworkConfig.from_dict(hparams["network"]).for_data(
        hparams["n_features"], hparams["n_energies"]
    )
    if widths != module.network.config:
        raise InputError(
            f"ckpt_path {ckpt_path}: network {widths.to_dict()} differs from the configured "
            f"{module.network.config.to_dict()}"
        )


def test_metrics(module: LdosModule) -> dict[str, Any]:
    """Mean absolute test errors over snapshots beside the constant guess's (float64, as
    logged) and the per-snapshot results."""
    return {**module.test_summary, "test_snapshots": module.test_results}


def write_results(
    metrics: dict[str, Any], module: LdosModule, datamodule: LdosDataModule, output_dir: Path
) -> None:
    """``metrics.json``, the training curve and, after testing, the DOS plot and the parity
    plot of the test energies (``parity.png``)."""
    if module.history:
        plot_training_curve(
            [h["epoch"] for h in module.history],
            [h[VAL_METRIC] for h in module.history],
            output_dir / "training_curve.png",
        )
    if module.test_results:
        plot_first_test_dos(module, datamodule, output_dir)
        plot_test_parity(module.test_results, output_dir / "parity.png")
    atomic_write_text(output_dir / METRICS_FILE, json.dumps(metrics, indent=2))


def plot_first_test_dos(module: LdosModule, datamodule: LdosDataModule, output_dir: Path) -> None:
    """``dos_<snapshot>.png``: predicted vs DFT DOS of the first test snapshot."""
    snapshot = datamodule.snapshots("test")[0]
    predicted, reference = module.test_dos[snapshot.name]
    plot_dos(
        snapshot.meta.energy_grid.energies,
        predicted,
        reference,
        module.test_results[snapshot.name]["dft_ldos_ev"]["fermi_energy_ev"],
        f"test snapshot {snapshot.name}",
        output_dir / f"dos_{snapshot.name}.png",
    )


def plot_test_parity(test_results: dict[str, dict[str, Any]], path: Path) -> None:
    """``parity.png``: predicted against DFT-LDOS energy per atom of every usable test
    prediction, band and total free energy, with the constant guess."""
    usable = {name: r for name, r in test_results.items() if r["predicted_ev"] is not None}
    panels = {}
    for field, name in GUESSED_ENERGIES.items():
        guess = next(iter(test_results.values()))["constant_guess_ev_per_atom"].get(name)
        if guess is None or not usable:
            continue
        per_atom = [
            [r[side][field] / r[side]["n_atoms"] for r in usable.values()]
            for side in ("dft_ldos_ev", "predicted_ev")
        ]
        panels[name.replace("_", " ")] = (*per_atom, guess)
    if panels:
        plot_parity(panels, list(usable), path)
