"""Train and search with the console commands ``ldos-train`` / ``ldos-search`` from a folder
that is not the clone, on the shipped Al data (a plain module, imported as ``installed``).

`NASWOT_SEARCH` is a 2-candidate NASWOT search, `ONE_EPOCH` a 1-epoch training; the shipped
data set is read where it lies and its descriptors are cached in the working folder.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AL_DATASET = REPO / "data" / "al_fcc_298K"
HINT = re.compile(r"^train it: (.+)$", re.MULTILINE)


def data(work: Path) -> list[str]:
    return [
        f"data.dataset_dir={AL_DATASET}",
        f"data.cache_dir={work / 'descriptor_cache'}",
        "data.train=[snapshot_0000,snapshot_0001]",
        "data.val=[snapshot_0005]",
        "logger=csv",
    ]


def one_epoch(work: Path) -> list[str]:
    return [*data(work), "data.test=[snapshot_0006]", "trainer.max_epochs=1"]


def naswot_search(work: Path, name: str) -> list[str]:
    return [
        "hparams_search=naswot",
        f"search.name={name}",
        "hydra.sweeper.params=null",
        "model.network.layer_widths=choice([null,32,null],[null,64,null])",
        "hydra.sweeper.naswot.n_inits=2",
        *data(work),
        "data.test=[]",
        "trainer.max_epochs=2",
        "model.optimizer.lr=1e-2",
    ]


def environment() -> dict[str, str]:
    """The caller's environment without a workspace: the working folder is the workspace."""
    env = {k: v for k, v in os.environ.items() if k != "LDOS_SURROGATE_ROOT"}
    return env | {"WANDB_MODE": "offline"}


def run(command: list[str], work: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``command`` in ``work``; its exit status is the caller's to check."""
    return subprocess.run(
        command, cwd=work, env=environment(), capture_output=True, text=True, timeout=timeout
    )


def train_hint(stdout: str) -> list[str]:
    """The command a search printed to train its best trial."""
    (hint,) = HINT.findall(stdout)
    return shlex.split(hint)


def tree(folder: Path) -> dict[str, int]:
    """Every file below ``folder`` with its modification time (ns)."""
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}
