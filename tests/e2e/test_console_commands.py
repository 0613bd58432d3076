"""``ldos-train`` and ``ldos-search`` from an empty folder outside the clone: the shipped configs
come from the package, the workspace is the working folder, a search writes its best trial
into the search folder and into the user configs ``./configs`` (on Hydra's search path), never
into the package's configs, and the command it prints trains it. A config file that a search
did not write is never overwritten, and a name the shipped configs hold is refused, each with
one line before any trial."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from installed import naswot_search, one_epoch, run, train_hint, tree

from ldos_surrogate import CONFIG_DIR

BIN = Path(sys.executable).parent


def test_train_and_search_from_an_empty_folder(tmp_path: Path) -> None:
    shipped = tree(CONFIG_DIR)
    trained = run([str(BIN / "ldos-train"), *one_epoch(tmp_path)], tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    (run_dir,) = (tmp_path / "logs" / "train" / "runs").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and "test/band_energy_mae_mev_per_atom" in metrics
    assert (run_dir / "train.log").exists()  # the run's log is named after the task

    searched = run([str(BIN / "ldos-search"), *naswot_search(tmp_path, "w_naswot")], tmp_path)
    assert searched.returncode == 0, searched.stderr[-3000:]
    user_file = tmp_path / "configs" / "experiment" / "w_naswot.yaml"
    search_copy = tmp_path / "logs" / "search" / "w_naswot" / "configs" / "experiment"
    assert (search_copy / "w_naswot.yaml").read_text() == user_file.read_text()
    assert user_file.read_text().startswith("# @package _global_\n# Written by the ldos-surrogate")
    assert tree(CONFIG_DIR) == shipped

    # the printed command trains the best trial: the user configs are on the search path
    program, *arguments = train_hint(searched.stdout)
    assert Path(shutil.which(program)).absolute() == BIN / "ldos-train"  # short when on PATH
    assert arguments == ["experiment=w_naswot"]
    again = run([program, *arguments, "hydra.run.dir=again"], tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    best = [r for r in searched.stdout.splitlines() if r.startswith("best: trial 2, loss ")]
    assert best, searched.stdout[-3000:]
    loss = float(best[0].split("loss ")[1].split(";")[0])
    reproduced = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert reproduced["val/band_energy_mae_mev_per_atom"] == pytest.approx(loss, rel=1e-5)


def test_a_name_the_shipped_configs_hold_is_refused_before_any_trial(tmp_path: Path) -> None:
    """(all refusals: tests/bad_input, docs/bad_input.md)"""
    searched = run(
        [str(BIN / "ldos-search"), "hparams_search=acsd", "search.name=snap_mala"], tmp_path
    )
    assert (searched.returncode, searched.stderr) == (
        2,
        f"error: search.name: 'snap_mala' is the shipped descriptor config "
        f"{CONFIG_DIR}/descriptor/snap_mala.yaml, which Hydra would find first; choose another "
        f"name\n",
    )
    assert not (tmp_path / "logs").exists()


def test_a_file_not_written_by_a_search_is_never_overwritten(tmp_path: Path) -> None:
    mine = tmp_path / "configs" / "experiment" / "mine.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("# @package _global_\nseed: 7\n")
    searched = run(
        [str(BIN / "ldos-search"), "hparams_search=naswot", "search.name=mine"], tmp_path
    )
    assert (searched.returncode, searched.stderr) == (
        2,
        f"error: search.name: {mine} exists and was not written by a search; choose another "
        f"name or move that file\n",
    )
    assert mine.read_text() == "# @package _global_\nseed: 7\n"
    assert not (tmp_path / "logs").exists()
