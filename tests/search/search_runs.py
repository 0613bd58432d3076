"""Run ``search.py`` for real on the shipped Al data, small: 2 training snapshots, 1 validation
snapshot, 2 epochs, CSV logs (W&B offline where a test asks for it). A plain module (imported as ``search_runs``).

Each run gets its own config folder ``<tmp>/conf`` on Hydra's search path: tests put their tiny
``hparams_search/<name>.yaml`` there, and the search writes its experiment file to
``<tmp>/conf/experiment``, so ``train.py experiment=<name>`` finds it with the same search path.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[2]
SMALL_TRAINING = (
    "data.train=[snapshot_0000,snapshot_0001]",
    "data.val=[snapshot_0005]",
    "data.test=[]",
    "trainer.max_epochs=2",
)
BAND_ENERGY = "val/band_energy_mae_mev_per_atom"


@dataclass
class SearchRun:
    returncode: int
    stdout: str
    stderr: str
    sweep_dir: Path
    conf_dir: Path
    name: str

    @property
    def results(self) -> list[dict[str, str]]:
        """The rows of results.csv."""
        with (self.sweep_dir / "results.csv").open(newline="") as handle:
            return list(csv.DictReader(handle))

    @property
    def experiment(self) -> Path:
        return self.conf_dir / "experiment" / f"{self.name}.yaml"

    def progress(self) -> list[tuple[int, int, str]]:
        """(k, N, rest) of every ``[<name>] trial k of N (...): elapsed ..., <rest>`` line."""
        pattern = rf"^\[{re.escape(self.name)}\] trial (\d+) of (\d+) \(#\d+ [^)]*\): elapsed [^,]+, (.*)$"
        return [
            (int(k), int(n), rest) for k, n, rest in re.findall(pattern, self.stdout, re.MULTILINE)
        ]

    def assert_followable(self, total: int, method_view: bool) -> None:
        """Every trial had its progress line, ``trial 1 of total`` to ``trial total of total``,
        each with an estimate of the rest once one is possible, the last saying done; and the
        search folder has ``report.png``, two panels wide when the method has its own view."""
        lines = self.progress()
        assert [(k, n) for k, n, _ in lines] == [(k, total) for k in range(1, total + 1)]
        assert lines[-1][2] == "done"
        for _, _, rest in lines[:-1]:
            assert re.fullmatch(
                r"about .+ left|\d+ left \(no estimate until a \w+ trial finishes\)", rest
            )
        height, width, _ = matplotlib.image.imread(self.sweep_dir / "report.png").shape
        assert (width > 1.5 * height) == method_view, (width, height)
        assert f"report: {self.sweep_dir / 'report.png'}" in self.stdout


def write_method(tmp_path: Path, name: str, text: str) -> None:
    """Put ``conf/hparams_search/<name>.yaml`` on the run's search path."""
    folder = tmp_path / "conf" / "hparams_search"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(text)


def search_command(tmp_path: Path, name: str, *overrides: str, logger: str = "csv") -> list[str]:
    conf = tmp_path / "conf"
    return [
        sys.executable,
        str(REPO / "search.py"),
        f"hydra.searchpath=[file://{conf}]",
        f"paths.log_dir={tmp_path / 'logs'}",
        f"search.experiment_dir={conf / 'experiment'}",
        f"search.name={name}",
        *SMALL_TRAINING,
        f"logger={logger}",
        *overrides,
    ]


def environment() -> dict[str, str]:
    return os.environ | {"LDOS_SURROGATE_ROOT": str(REPO), "WANDB_MODE": "offline"}


def run_search(
    tmp_path: Path, name: str, *overrides: str, logger: str = "csv", timeout: float = 240
) -> SearchRun:
    """``python search.py`` with the small training settings and ``overrides``."""
    result = subprocess.run(
        search_command(tmp_path, name, *overrides, logger=logger),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(),
        cwd=tmp_path,
    )
    return SearchRun(
        result.returncode,
        result.stdout,
        result.stderr,
        tmp_path / "logs" / "search" / name,
        tmp_path / "conf",
        name,
    )


def compose_with(
    conf_dir: Path, config_name: str, *overrides: str, return_hydra_config: bool = False
) -> DictConfig:
    """The repository's config ``config_name`` composed with ``conf_dir`` on the search path."""
    os.environ.setdefault("LDOS_SURROGATE_ROOT", str(REPO))
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose(
            config_name,
            overrides=[f"hydra.searchpath=[file://{conf_dir}]", *overrides],
            return_hydra_config=return_hydra_config,
        )
