"""`LdosModule`: the LDOS network with its optimiser, loss and physical metrics (Lightning).

Training minimises the mean squared error between predicted and true *scaled* LDOS over
batches of grid points. After each validation epoch every validation snapshot is predicted
on its whole grid (`predict_ldos`: large batches, no autograd) and its band energy compared
with that of its DFT LDOS; the mean absolute error over snapshots (seed Eq. 12) is logged as
``val/band_energy_mae_mev_per_atom``, the metric that early stopping, checkpointing and
hyperparameter searches use. Testing adds the total free energy (Eq. 7), the Fermi level and
the LDOS RMSE, and beside each energy error that of the constant guess (the training
snapshots' mean per-atom energy, `metrics.constant_guess`) with the ratio of the two.

Checkpoints hold only plain values (hyperparameters as dicts, tensors; the data module adds
the descriptor parameters and scalers), so they load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from lightning import LightningModule
from torch.nn.functional import mse_loss

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.store import Snapshot
from ldos_surrogate.models.config import (
    OptimizerConfig,
    OutputFitConfig,
    SchedulerConfig,
    from_mapping,
)
from ldos_surrogate.models.metrics import (
    EnergySetup,
    LdosEnergies,
    constant_guess,
    constant_guess_errors,
    electron_count_error,
    energy_errors,
    ldos_rmse,
    mean_absolute,
    predicted_energies,
    snapshot_energies,
    summarize_test,
)
from ldos_surrogate.models.network import LdosNetwork, network_from_config
from ldos_surrogate.models.output_fit import fit_output_layer
from ldos_surrogate.models.predictor import predict_ldos
from ldos_surrogate.physics.dos import density_of_states

VAL_METRIC = "val/band_energy_mae_mev_per_atom"
# the same with the trained output layer (differs from VAL_METRIC with ``model.output_fit``)
TRAINED_LAYER_METRIC = "val/band_energy_mae_trained_layer_mev_per_atom"
HISTORY_KEY = "ldos_history"  # checkpoint entry: the validation metric of every epoch so far


class LdosModule(LightningModule):
    """The LDOS network M[lambda] (Eq. 9) and how it trains.

    Args:
        network: `NetworkConfig` fields (``model.network``).
        n_features, n_energies: descriptor and LDOS widths of the data.
        energy_setup: `EnergySetup.to_dict()` of the training data (for energies at test
            time and for inference from the checkpoint).
        optimizer: `OptimizerConfig` fields; scheduler: `SchedulerConfig` fields or None.
        output_fit: `OutputFitConfig` fields, or None to keep the trained output layer;
            otherwise every validation scores a copy with the layer solved
            (`solve_output_layer`), and so is the chosen epoch's network after training.
        compile: train through ``torch.compile`` (the saved weights are the same).
        inference_batch_size: grid points per batch when predicting whole snapshots.
    """

    def __init__(
        self,
        network: dict[str, Any],
        n_features: int,
        n_energies: int,
        energy_setup: dict[str, Any],
        optimizer: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
        output_fit: dict[str, Any] | None = None,
        compile: bool = False,
        inference_batch_size: int = 65536,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.network = network_from_config(network, n_features, n_energies)
        self.optimizer_config = from_mapping(OptimizerConfig, optimizer, "model.optimizer")
        self.scheduler_config = (
            None
            if scheduler is None
            else from_mapping(SchedulerConfig, scheduler, "model.scheduler")
        )
        self.output_fit_config = (
            None
            if output_fit is None
            else from_mapping(OutputFitConfig, output_fit, "model.output_fit")
        )
        if self.output_fit_config is not None and self.network.config.output_activation:
            raise InputError(
                "model.output_fit: needs a linear output layer (model.network.output_activation: null)"
            )
        self.energy_setup = EnergySetup.from_dict(energy_setup)
        if int(inference_batch_size) != inference_batch_size or inference_batch_size < 1:
            raise InputError(
                f"model.inference_batch_size: must be a positive integer, got {inference_batch_size}"
            )
        self._train_forward = (
            torch.compile(self.network.forward, dynamic=True) if compile else self.network.forward
        )
        self._references: dict[tuple[str, bool], LdosEnergies] = {}
        self.history: list[dict[str, float]] = []
        self.test_results: dict[str, dict[str, Any]] = {}
        self.test_summary: dict[str, float] = {}
        self.test_dos: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def forward(self, scaled_descriptors: torch.Tensor) -> torch.Tensor:
        """Scaled LDOS (N, n_energies) from scaled descriptors (N, n_features)."""
        return self.network(scaled_descriptors)

    # ---- loss --------------------------------------------------------------------------

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        inputs, targets = batch
        loss = mse_loss(self._train_forward(inputs), targets)
        # summed here and logged once per epoch: a self.log call per step cost a quarter of
        # a 40-point step's time
        self._train_loss_sum += loss.detach() * len(inputs)
        self._train_points += len(inputs)
        return loss

    def on_train_epoch_start(self) -> None:
        self._train_loss_sum = torch.zeros((), device=self.device)
        self._train_points = 0

    def on_train_epoch_end(self) -> None:
        if self._train_points:
            mean = self._train_loss_sum / self._train_points
            self.log("train/loss", mean, sync_dist=True)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._log_loss("val/loss", batch)

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._log_loss("test/loss", batch)

    def _log_loss(self, name: str, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        inputs, targets = batch
        loss = mse_loss(self.network(inputs), targets)
        self.log(name, loss, on_epoch=True, batch_size=len(inputs), sync_dist=True)

    # ---- physical metrics --------------------------------------------------------------

    def solve_output_layer(self, network: LdosNetwork | None = None) -> None:
        """Replace the output layer of ``network`` (default: this module's) by its least-squares
        solution on the training points (``model.output_fit``, `output_fit.fit_output_layer`)."""
        network = self.network if network is None else network
        datamodule = self.trainer.datamodule
        fit_output_layer(
            network.hidden_features,
            network.output_layer,
            (
                datamodule.snapshot_chunks("train", index)
                for index in range(len(datamodule.snapshots("train")))
            ),
            self.output_fit_config.snapshot_weight,
            self.output_fit_config.ridge,
        )

    def on_validation_epoch_end(self) -> None:
        """Log the validation band-energy MAE of the network as it will be used: with
        ``model.output_fit``, that of a copy whose output layer is solved (training goes on
        with the trained layer; the error of the trained layer is kept in the history)."""
        if self.trainer.sanity_checking:
            return
        entry = {"epoch": self.current_epoch, TRAINED_LAYER_METRIC: self._validation_mae()}
        if self.output_fit_config is None:
            entry[VAL_METRIC] = entry[TRAINED_LAYER_METRIC]
        else:
            solved = copy.deepcopy(self.network)
            self.solve_output_layer(solved)
            entry[VAL_METRIC] = self._validation_mae(solved)
        self.log(VAL_METRIC, entry[VAL_METRIC], prog_bar=True, sync_dist=True)
        self.history.append(entry)

    def _validation_mae(self, network: LdosNetwork | None = None) -> float:
        """Mean absolute band-energy error over the validation snapshots (Eq. 12)."""
        per_snapshot = self._evaluate("val", with_total=False, network=network)
        return mean_absolute(
            [result["errors"] for result in per_snapshot.values()], "band_energy_error_mev_per_atom"
        )

    def on_test_epoch_end(self) -> None:
        self.test_results = self._evaluate("test", with_total=True)
        guess = constant_guess(
            self._reference(snapshot, with_total=True)
            for snapshot in self.trainer.datamodule.snapshots("train")
        )
        for result in self.test_results.values():
            reference = LdosEnergies(**result["dft_ldos_ev"])
            result["constant_guess_ev_per_atom"] = guess
            result["constant_guess_errors"] = constant_guess_errors(guess, reference)
        self.test_summary = summarize_test(
            [r["errors"] | r["constant_guess_errors"] for r in self.test_results.values()]
        )
        for metric, value in self.test_summary.items():
            self.log(metric, value, sync_dist=True)

    def _evaluate(
        self, split: str, with_total: bool, network: LdosNetwork | None = None
    ) -> dict[str, dict[str, Any]]:
        """Errors (and, on test, energies and DOS) of every snapshot of ``split`` predicted by
        ``network`` (default: this module's)."""
        datamodule = self.trainer.datamodule
        results = {}
        for index, snapshot in enumerate(datamodule.snapshots(split)):
            ldos = predict_ldos(
                self.network if network is None else network,
                datamodule.snapshot_inputs(split, index),
                datamodule.ldos_scaler,
                self.hparams.inference_batch_size,
            )
            ldos = ldos.numpy().reshape(*snapshot.meta.grid_shape, -1)
            predicted = predicted_energies(ldos, snapshot, self.energy_setup, with_total)
            reference = self._reference(snapshot, with_total)
            result: dict[str, Any] = {"errors": energy_errors(predicted, reference)}
            if with_total:
                true_ldos = snapshot.ldos()
                result["errors"]["ldos_rmse"] = ldos_rmse(ldos, true_ldos)
                result["predicted_ev"] = asdict(predicted) if predicted else None
                result["dft_ldos_ev"] = asdict(reference)
                cell = snapshot.meta.cell
                dos = density_of_states(ldos, cell), density_of_states(true_ldos, cell)
                self.test_dos[snapshot.name] = dos
                result["errors"]["electron_count_error"] = electron_count_error(
                    *dos,
                    snapshot.meta.energy_grid,
                    reference.fermi_energy_ev,
                    snapshot.meta.temperature_k,
                )
            results[snapshot.name] = result
        return results

    def _reference(self, snapshot: Snapshot, with_total: bool) -> LdosEnergies:
        """Energies of the snapshot's DFT LDOS (computed once per run)."""
        key = (str(snapshot.path), with_total)
        if key not in self._references:
            self._references[key] = snapshot_energies(
                snapshot.ldos(), snapshot, self.energy_setup, with_total
            )
        return self._references[key]

    # ---- checkpoints ---------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[HISTORY_KEY] = self.history

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.history = list(checkpoint.get(HISTORY_KEY, []))

    def on_train_start(self) -> None:
        """Catch up the epoch-wise learning-rate schedulers after a resume.

        ``last.ckpt`` is written when an epoch's validation ends, before Lightning steps the
        schedulers for that epoch, and a run resumed from it finishes the epoch without
        stepping them. Every validated epoch (``history``) owes each scheduler one step.
        """
        for config in self.trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            while config.interval == "epoch" and scheduler.last_epoch < len(self.history):
                if config.monitor is None:
                    scheduler.step()
                else:  # plateau: the metric of the epoch it missed, float32 as logged
                    missed = self.history[scheduler.last_epoch][config.monitor]
                    scheduler.step(float(np.float32(missed)))

    # ---- optimisation ------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        optimizer = self.optimizer_config.build(self.parameters())
        if self.scheduler_config is None:
            return optimizer
        max_epochs = self.trainer.max_epochs
        if self.scheduler_config.name == "cosine" and (max_epochs is None or max_epochs < 1):
            raise InputError("model.scheduler: 'cosine' needs trainer.max_epochs >= 1")
        return {
            "optimizer": optimizer,
            "lr_scheduler": self.scheduler_config.build(optimizer, max_epochs),
        }
