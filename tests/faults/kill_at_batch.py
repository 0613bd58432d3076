"""`KillAtBatch`: a Lightning callback that SIGKILLs its own training process when a chosen
training batch starts (a crash mid-epoch). Child processes import it through ``PYTHONPATH``;
add it to ``train.py`` with ``+callbacks.kill._target_=kill_at_batch.KillAtBatch``."""

from __future__ import annotations

import glob
import os
import signal
import time

from lightning import Callback


class KillAtBatch(Callback):
    """SIGKILL the process as batch ``batch`` of epoch ``epoch`` starts.

    With ``wait_for`` (a glob pattern), first hold the batch until a file matches it (at
    most ``wait_s`` seconds): the trial stays running, its heartbeat alive, until then.
    """

    def __init__(self, epoch: int, batch: int, wait_for: str | None = None, wait_s: float = 300):
        self.epoch = epoch
        self.batch = batch
        self.wait_for = wait_for
        self.wait_s = wait_s

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.current_epoch != self.epoch or batch_idx != self.batch:
            return
        deadline = time.monotonic() + self.wait_s
        while self.wait_for and not glob.glob(self.wait_for) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGKILL)
