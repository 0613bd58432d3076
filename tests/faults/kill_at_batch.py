"""`KillAtBatch`: a Lightning callback that SIGKILLs its own training process when a chosen
training batch starts (a crash mid-epoch). Child processes import it through ``PYTHONPATH``;
add it to ``train.py`` with ``+callbacks.kill._target_=kill_at_batch.KillAtBatch``."""

from __future__ import annotations

import os
import signal

from lightning import Callback


class KillAtBatch(Callback):
    """SIGKILL the process as batch ``batch`` of epoch ``epoch`` starts."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch = epoch
        self.batch = batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)
