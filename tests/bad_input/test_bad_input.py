"""The bad-input suite: every malformed input listed in ``docs/bad_input.md`` (config, data,
study storage, checkpoint) is tried here, and the test checks what the user sees.

Each row of the table has the id of one case below (the test ids); `test_table_lists_every_case`
keeps the two in step. What the user sees follows from how the entry points report errors:
an `InputError`, and a config that Hydra cannot compose, is one line ``error: <message>`` and
exit status 2 (``train.py``, ``search.py``, ``ldos-surrogate``); any other exception reaches
Hydra, which prints its message (and ``full_key``) with exit status 1. `user_sees` applies that
rule in process; `test_the_rule_holds_for_the_real_commands` checks it once per kind on the
real commands, `test_composition_errors_are_one_line` the composition errors of both scripts.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ase.build
import ase.io
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from qe_cases import TINY_SETTINGS, require_qe, tiny_atoms
from reference_data import BE2_ENERGY_GRID

from ldos_surrogate import CONFIG_DIR, hydra_app, tasks
from ldos_surrogate.cli import main as cli_main
from ldos_surrogate.datagen import dft
from ldos_surrogate.datagen.qe import QeRunner
from ldos_surrogate.descriptors import SnapParams, cached_descriptors, descriptor_cache_path
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala_import import import_mala_dataset
from ldos_surrogate.io.store import read_snapshot
from ldos_surrogate.search.experiment import ConfigOutput
from ldos_surrogate.search.naswot_scoring import NaswotSettings
from ldos_surrogate.search.optuna_search import OptunaSettings
from ldos_surrogate.search.space import check_keys_exist, parse_space
from ldos_surrogate.search.study import StudySettings, open_study
from ldos_surrogate.search.sweeper import PARAMS_KEY, SETTINGS_KEY

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / "docs" / "bad_input.md"
BE2_PARAMS = SnapParams(rcut=4.67637, twojmax=10)  # MALA's SNAP settings of the Be2 files
TINY = ["model.network.layer_widths=[null,32,32,null]", "data.batch_size=256", "logger=csv"]
NO_SERVER = "postgresql+psycopg://ldos:ldos@127.0.0.1:1/ldos_test"  # nothing listens on port 1
ALAS_PSEUDO = ["--pseudo", "As=As.pz-bhs.UPF"]  # Debian's As file; Al takes the project's
ALAS_CUTOFF = ["--ecutwfc", "25", "--kmesh", "4", "4", "4"]
UNKNOWN_DATA_OPTION = "error: In 'base': Could not find 'data/nonexistent'; available options: al32_298K, al_fcc_298K, be2"


def user_sees(action: Callable[[], object]) -> tuple[int, str]:
    """Exit status and message the command line shows when ``action`` fails."""
    try:
        action()
    except InputError as error:
        return 2, f"error: {error}"
    except hydra_app.COMPOSITION_ERRORS as error:
        return 2, f"error: {hydra_app.one_line(error)}"
    except Exception as error:  # noqa: BLE001 - reported by Hydra
        return 1, str(error)
    raise AssertionError("the input was accepted")


@dataclass
class Inputs:
    """A Be2 store with MALA's descriptors cached, a checkpoint trained on it, a scratch folder."""

    store: Path
    checkpoint: Path
    tmp: Path
    qe: QeRun | None = None

    def config(self, *overrides: str, store: Path | None = None, name: str = "train"):
        with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
            return compose(
                name,
                overrides=[
                    "data=be2",
                    f"data.dataset_dir={store or self.store}",
                    f"paths.output_dir={self.tmp / 'run'}",
                    *TINY,
                    *overrides,
                ],
            )

    def train(self, *overrides: str, store: Path | None = None) -> None:
        tasks.train(self.config("trainer.max_epochs=1", *overrides, store=store))

    def damaged(self, relative: str | Path, damage: Callable[[Path], None]) -> Path:
        """A copy of the store with ``damage`` done to one of its files; returns the copy."""
        copy = self.tmp / "damaged"
        shutil.copytree(self.store, copy)
        damage(copy / relative)
        return copy

    def outputs(
        self, name: str, experiment_dir: Path | None = None, own_file: str | None = None
    ) -> ConfigOutput:
        """The config files of a search ``name`` with user configs in ``<tmp>/configs``, one
        file of the user's own (``own_file``, relative to them) already there."""
        configs = self.tmp / "configs"
        if own_file:
            (configs / own_file).parent.mkdir(parents=True)
            (configs / own_file).write_text("# @package _global_\nseed: 7\n")
        return ConfigOutput(name, self.tmp / "search", experiment_dir or configs / "experiment")

    def datagen(self, *arguments: str) -> None:
        """``ldos-surrogate datagen`` into a fresh folder (returns 2 after printing)."""
        out = ["--out", str(self.tmp / "set"), "--temperature", "300"]
        cli(["datagen", *out, *arguments])

    def text_file(self, name: str, text: str) -> str:
        (self.tmp / name).write_text(text)
        return str(self.tmp / name)

    def atoms_file(self, structure: str = "AlAs", **kwargs) -> str:
        """An extxyz file of one zincblende AlAs or fcc Al cell, or of the given frames."""
        path = self.tmp / f"{structure}.extxyz"
        frames = kwargs.get("frames") or [
            ase.build.bulk(structure, "zincblende" if structure == "AlAs" else "fcc", a=5.66)
        ]
        ase.io.write(path, frames)
        return str(path)

    def search_space(self, params: dict[str, str]) -> None:
        check_keys_exist(
            parse_space(params, [], PARAMS_KEY), self.config(name="search"), PARAMS_KEY
        )


@pytest.fixture(scope="module")
def trained(mala_be2: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The Be2 store and the best checkpoint of a 1-epoch run on it."""
    store = tmp_path_factory.mktemp("be2") / "store"
    import_mala_dataset(mala_be2, BE2_ENERGY_GRID, store, BE2_PARAMS.rcut, BE2_PARAMS.twojmax)
    run = tmp_path_factory.mktemp("trained")
    inputs = Inputs(store, run / "unused", run)
    metrics = tasks.train(inputs.config("trainer.max_epochs=1", "test=false"))
    return store, Path(metrics["best_checkpoint"])


class QeRun:
    """A finished 1-atom Al SCF (pw.x output and save folder), run on first use (seconds)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @functools.cached_property
    def output(self) -> Path:
        require_qe()
        dft.run_pw(tiny_atoms(), TINY_SETTINGS, QeRunner(), self.folder, "scf")
        return self.folder / "scf.out"

    def damaged_copy(self, tmp: Path, relative: str, damage: Callable[[Path], None]) -> Path:
        """A copy of the run folder with ``damage`` done to one file; returns its output."""
        copy = tmp / "qe_copy"
        shutil.copytree(self.output.parent, copy)
        damage(copy / relative)
        return copy / "scf.out"


@pytest.fixture(scope="module")
def qe_run(tmp_path_factory: pytest.TempPathFactory) -> QeRun:
    return QeRun(tmp_path_factory.mktemp("qe_run"))


@pytest.fixture()
def inputs(trained: tuple[Path, Path], tmp_path: Path, qe_run: QeRun) -> Inputs:
    return Inputs(*trained, tmp_path, qe_run)


def cli(arguments: list[str]) -> None:
    """An ``ldos-surrogate`` command, which returns 2 after printing an InputError."""
    if cli_main(arguments) == 2:
        raise InputError("(message printed)")


def import_qe(inputs: Inputs, output: Path, *arguments: str) -> None:
    cli(["import-qe", str(output), "--out", str(inputs.tmp / "imported"), *arguments])


def damage_smearing(path: Path) -> None:
    path.write_text(path.read_text().replace(">fd</smearing>", ">gaussian</smearing>"))


# ---- ways to damage a file ----------------------------------------------------------------


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def json_edit(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = json.loads(path.read_text())
        edit(data)
        path.write_text(json.dumps(data))

    return damage


def array_edit(edit: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        np.save(path, edit(np.load(path)))

    return damage


def with_nan(array: np.ndarray) -> np.ndarray:
    array[3, 4, 5, 6] = np.nan
    return array


def descriptor_cache_file(store: Path, snapshot: str) -> Path:
    """The cache file of MALA's descriptors of ``snapshot``."""
    return descriptor_cache_path(read_snapshot(store / snapshot), BE2_PARAMS)


# ---- the cases: id -> (exit status, part of the message, what the user does) ----------------

Action = Callable[[Inputs], object]
CASES: dict[str, tuple[int, str, Action]] = {
    # configuration (train.py, search.py overrides)
    "unknown-activation": (
        2,
        "error: model.network.activations[0]: unknown activation 'Swoosh'",
        lambda i: i.train("model.network.activations=Swoosh"),
    ),
    "input-width": (
        2,
        "error: model.network.layer_widths[0]: 90 does not match",
        lambda i: i.train("model.network.layer_widths=[90,32,null]"),
    ),
    "output-width": (
        2,
        "11 energy grid points",
        lambda i: i.train("model.network.layer_widths=[null,32,12]"),
    ),
    "unknown-model-key": (
        2,
        "error: model: unknown keys ['foo']",
        lambda i: i.train("+model.foo=1"),
    ),
    "optimizer-name": (
        2,
        "error: model.optimizer.name",
        lambda i: i.train("model.optimizer.name=adagrad"),
    ),
    "learning-rate": (
        2,
        "error: model.optimizer.lr: must be > 0, got -1",
        lambda i: i.train("model.optimizer.lr=-1"),
    ),
    "scheduler-factor": (
        2,
        "error: model.scheduler.factor: must lie in (0, 1), got 2",
        lambda i: i.train("model.scheduler.factor=2"),
    ),
    "snapshot-not-listed": (
        2,
        "error: val: snapshot 'Be_snapshot9' is not listed in",
        lambda i: i.train("data.val=[Be_snapshot9]"),
    ),
    "snapshot-in-two-splits": (
        2,
        "error: val: snapshot 'Be_snapshot1' is also in split 'train'",
        lambda i: i.train("data.val=[Be_snapshot1]"),
    ),
    "empty-training-split": (
        2,
        "error: train: the training split lists no snapshots",
        lambda i: i.train("data.train=[]"),
    ),
    "batch-size": (
        2,
        "error: data: batch_size: must be a positive integer, got 0",
        lambda i: i.train("data.batch_size=0"),
    ),
    "ldos-scaling": (
        2,
        "error: data: ldos_scaling: expected one of",
        lambda i: i.train("data.ldos_scaling=log"),
    ),
    "descriptor-rcut": (
        2,
        "error: data: rcut: must be a positive length in Angstrom, got -1",
        lambda i: i.train("descriptor.rcut=-1"),
    ),
    "max-epochs": (
        2,
        "error: trainer: `max_epochs` must be a non-negative integer or -1. You passed in -5.",
        lambda i: i.train("trainer.max_epochs=-5"),
    ),
    "unknown-config-option": (
        2,
        UNKNOWN_DATA_OPTION,
        lambda i: i.config("data=nonexistent"),
    ),
    # data sets and snapshots
    "missing-data-set": (
        2,
        "manifest.json: data set manifest missing",
        lambda i: i.train(store=i.tmp / "no_such_set"),
    ),
    "malformed-manifest": (
        2,
        'manifest.json: malformed manifest, expected {"snapshots": [names]}',
        lambda i: i.train(store=i.damaged("manifest.json", lambda p: p.write_text("[1, 2]"))),
    ),
    "missing-snapshot-folder": (
        2,
        "Be_snapshot2: snapshot folder not found",
        lambda i: i.train(store=i.damaged("Be_snapshot2", shutil.rmtree)),
    ),
    "meta-not-json": (
        2,
        "Be_snapshot1/meta.json: not valid JSON",
        lambda i: i.train(store=i.damaged("Be_snapshot1/meta.json", truncate)),
    ),
    "meta-missing-key": (
        2,
        "Be_snapshot1/meta.json: malformed meta.json (KeyError('temperature_k'))",
        lambda i: i.train(
            store=i.damaged("Be_snapshot1/meta.json", json_edit(lambda m: m.pop("temperature_k")))
        ),
    ),
    "energy-grids-differ": (
        2,
        "Be_snapshot1/meta.json: energy_grid_ev EnergyGrid(start_ev=-4.0, spacing_ev=2.5, "
        "count=11) differs from EnergyGrid(start_ev=-5.0",
        lambda i: i.train(
            store=i.damaged(
                "Be_snapshot1/meta.json",
                json_edit(lambda m: m["energy_grid_ev"].update(start_ev=-4.0)),
            )
        ),
    ),
    "atoms-unreadable": (
        2,
        "atoms.extxyz: not a readable extxyz file",
        lambda i: i.train(
            store=i.damaged("Be_snapshot1/atoms.extxyz", lambda p: p.write_text("garbage\n"))
        ),
    ),
    "ldos-truncated": (
        2,
        "Be_snapshot1/ldos.npy: not a readable .npy array",
        lambda i: i.train(store=i.damaged("Be_snapshot1/ldos.npy", truncate)),
    ),
    "ldos-wrong-shape": (
        2,
        "Be_snapshot1/ldos.npy: shape (18, 18, 26, 11) does not match meta.json",
        lambda i: i.train(
            store=i.damaged("Be_snapshot1/ldos.npy", array_edit(lambda a: a[:, :, :-1]))
        ),
    ),
    "ldos-nan": (
        2,
        "Be_snapshot1/ldos.npy: contains NaN or inf values",
        lambda i: i.train(store=i.damaged("Be_snapshot1/ldos.npy", array_edit(with_nan))),
    ),
    "descriptor-cache-nan": (
        2,
        "contains NaN or inf values",
        lambda i: i.train(
            store=i.damaged(
                descriptor_cache_file(i.store, "Be_snapshot1").relative_to(i.store),
                array_edit(with_nan),
            )
        ),
    ),
    # study storage and search settings (search.py)
    "storage-not-a-url": (
        2,
        "error: hydra.sweeper.storage: cannot open 'notaurl': Could not parse SQLAlchemy URL",
        lambda i: open_study(
            StudySettings(storage="notaurl"), i.tmp, "s", "minimize", (), SETTINGS_KEY
        ),
    ),
    "storage-folder-missing": (
        2,
        "(sqlite3.OperationalError) unable to open database file",
        lambda i: open_study(
            StudySettings(storage=f"sqlite:///{i.tmp}/no/such/folder/optuna.db"),
            i.tmp,
            "s",
            "minimize",
            (),
            SETTINGS_KEY,
        ),
    ),
    "storage-no-server": (
        2,
        'connection to server at "127.0.0.1", port 1 failed: Connection refused',
        lambda i: open_study(
            StudySettings(storage=NO_SERVER), i.tmp, "s", "minimize", (), SETTINGS_KEY
        ),
    ),
    "storage-driver-missing": (
        2,
        "Failed to import DB access module for the specified storage URL",
        lambda i: open_study(
            StudySettings(storage="mysql://user:secret@127.0.0.1:1/db"),
            i.tmp,
            "s",
            "minimize",
            (),
            SETTINGS_KEY,
        ),
    ),
    "storage-journal-folder-missing": (
        2,
        "error: hydra.sweeper.storage: cannot open 'journal:",
        lambda i: open_study(
            StudySettings(storage=f"journal:{i.tmp}/no/such/folder/optuna.journal"),
            i.tmp,
            "s",
            "minimize",
            (),
            SETTINGS_KEY,
        ),
    ),
    "n-trials": (
        2,
        "error: hydra.sweeper.n_trials: must be an integer >= 1, got 0",
        lambda i: OptunaSettings(n_trials=0).check(SETTINGS_KEY),
    ),
    "grace-period": (
        2,
        "error: hydra.sweeper.grace_period: must exceed heartbeat_interval (60 s), got 10",
        lambda i: StudySettings(grace_period=10).check(SETTINGS_KEY),
    ),
    "direction": (
        2,
        "error: hydra.sweeper.direction: must be one of ('minimize', 'maximize'), got 'up'",
        lambda i: OptunaSettings(direction="up").check(SETTINGS_KEY),
    ),
    "naswot-score": (
        2,
        "error: hydra.sweeper.naswot.score: must be one of ['activation_kernel', 'grad_norm', "
        "'jacobian', 'near', 'param_count', 'snip', 'synflow', 'zico'], got 'naswot'",
        lambda i: NaswotSettings(score="naswot").check(f"{SETTINGS_KEY}.naswot"),
    ),
    "unknown-search-key": (
        2,
        "error: hydra.sweeper.params.model.foo: not a key of the config",
        lambda i: i.search_space({"model.foo": "choice(1,2)"}),
    ),
    "bad-sweep-expression": (
        2,
        "error: hydra.sweeper.params: cannot parse 'model.optimizer.lr=choice('",
        lambda i: i.search_space({"model.optimizer.lr": "choice("}),
    ),
    "empty-interval": (
        2,
        "error: hydra.sweeper.params.model.optimizer.lr: interval needs low < high",
        lambda i: i.search_space({"model.optimizer.lr": "interval(1, 0)"}),
    ),
    # the config files a search writes (search.name, search.experiment_dir)
    "name-of-a-shipped-config": (
        2,
        f"error: search.name: 'snap_mala' is the shipped descriptor config "
        f"{CONFIG_DIR}/descriptor/snap_mala.yaml, which Hydra would find first",
        lambda i: i.outputs("snap_mala").check(["experiment", "descriptor"]),
    ),
    "user-config-not-from-a-search": (
        2,
        "/configs/experiment/mine.yaml exists and was not written by a search; choose another "
        "name or move that file",
        lambda i: i.outputs("mine", own_file="experiment/mine.yaml").check(["experiment"]),
    ),
    "experiment-dir-in-shipped-configs": (
        2,
        f"error: search.experiment_dir: {REPO}/conf/experiment lies in the shipped configs",
        lambda i: i.outputs("x", experiment_dir=REPO / "conf" / "experiment").check(["experiment"]),
    ),
    "experiment-dir-name": (
        2,
        "error: search.experiment_dir: /tmp/best: must be a folder named 'experiment'",
        lambda i: i.outputs("x", experiment_dir=Path("/tmp/best")).check(["experiment"]),
    ),
    # checkpoints (train.py ckpt_path=..., ldos-surrogate predict)
    "checkpoint-missing": (
        2,
        "no_such.ckpt: checkpoint not found",
        lambda i: i.train(f"ckpt_path={i.tmp / 'no_such.ckpt'}"),
    ),
    "checkpoint-not-a-checkpoint": (
        2,
        "README.md: not a loadable checkpoint (Weights only load failed",
        lambda i: i.train(f"ckpt_path={REPO / 'README.md'}"),
    ),
    "checkpoint-truncated": (
        2,
        "best.ckpt: not a loadable checkpoint",
        lambda i: i.train(f"ckpt_path={damaged_checkpoint(i, truncate)}"),
    ),
    "checkpoint-foreign": (
        2,
        "foreign.ckpt: not an LDOS model checkpoint (no 'hyper_parameters' entry)",
        lambda i: i.train(f"ckpt_path={foreign_checkpoint(i)}"),
    ),
    "checkpoint-other-descriptors": (
        2,
        "trained with descriptors",
        lambda i: i.train(f"ckpt_path={i.checkpoint}", "descriptor.twojmax=4"),
    ),
    "checkpoint-other-network": (
        2,
        "differs from the configured {'layer_widths': [91, 16, 11]",
        lambda i: i.train(f"ckpt_path={i.checkpoint}", "model.network.layer_widths=[null,16,null]"),
    ),
    "predict-checkpoint-truncated": (
        2,
        "best.ckpt: not a loadable checkpoint",
        lambda i: predict(i, damaged_checkpoint(i, truncate)),
    ),
    # datagen: structures, elements, pseudopotentials, pw.x settings, displacements
    "datagen-element-and-atoms": (
        2,
        "error: give --element (a built-in crystal) or --atoms FILE, one of them",
        lambda i: i.datagen("--element", "Al", "--atoms", i.atoms_file(), "--snapshots", "1"),
    ),
    "datagen-atoms-unreadable": (
        2,
        "garbage.xyz: not a readable atoms file",
        lambda i: i.datagen("--atoms", i.text_file("garbage.xyz", "garbage\n")),
    ),
    "datagen-no-cutoff": (
        2,
        "error: --ecutwfc: required, the project has no tested default for ['As']",
        lambda i: i.datagen("--atoms", i.atoms_file(), *ALAS_PSEUDO),
    ),
    "datagen-no-pseudopotential": (
        2,
        "error: --pseudo: no pseudopotential for As, give --pseudo As=FILE",
        lambda i: i.datagen("--atoms", i.atoms_file(), *ALAS_CUTOFF),
    ),
    "datagen-pseudopotential-of-another-element": (
        2,
        "error: --pseudo As=Al.pz-vbc.UPF: /usr/share/espresso/pseudo/Al.pz-vbc.UPF is for Al",
        lambda i: i.datagen(
            "--atoms", i.atoms_file(), *ALAS_CUTOFF, "--pseudo", "As=Al.pz-vbc.UPF"
        ),
    ),
    "datagen-pw-setting-refused": (
        2,
        "error: --pw system.nspin: not allowed, spin-polarised runs are not supported",
        lambda i: i.datagen("--element", "Al", "--snapshots", "1", "--pw", "system.nspin=2"),
    ),
    "datagen-pw-setting-malformed": (
        2,
        "error: --pw 'ecutrho=200': expected SECTION.KEY=VALUE, e.g. system.ecutrho=200",
        lambda i: i.datagen("--element", "Al", "--snapshots", "1", "--pw", "ecutrho=200"),
    ),
    "datagen-debye-temperature-missing": (
        2,
        "error: --debye-temperature: required for --displacements debye",
        lambda i: i.datagen(
            "--atoms",
            i.atoms_file(),
            *ALAS_CUTOFF,
            *ALAS_PSEUDO,
            *["--displacements", "debye", "--snapshots", "4"],
        ),
    ),
    "datagen-md-no-calculator": (
        2,
        "error: --displacements md: ASE's EMT has no parameters for ['Mg']",
        lambda i: i.datagen("--element", "Mg", "--snapshots", "2", "--displacements", "md"),
    ),
    "datagen-snapshots-missing": (
        2,
        "error: --snapshots: required with --displacements debye or md",
        lambda i: i.datagen("--element", "Al"),
    ),
    "datagen-too-many-snapshots": (
        2,
        "error: --snapshots 3: expected 1 ... 2 (the frames of the atoms file)",
        lambda i: i.datagen(
            "--atoms",
            i.atoms_file("Al", frames=[ase.build.bulk("Al", "fcc", a=4.05)] * 2),
            "--snapshots",
            "3",
        ),
    ),
    # import-qe: bad or partial QE runs
    "import-qe-output-missing": (
        2,
        "scf.out: pw.x output missing",
        lambda i: import_qe(i, i.tmp / "scf.out"),
    ),
    "import-qe-output-truncated": (
        2,
        "scf.out: pw.x did not finish (no 'JOB DONE.'; killed or crashed?)",
        lambda i: import_qe(i, i.qe.damaged_copy(i.tmp, "scf.out", truncate)),
    ),
    "import-qe-save-missing": (
        2,
        "data-file-schema.xml: pw.x XML file missing (is",
        lambda i: import_qe(i, i.qe.output, "--save", str(i.tmp)),
    ),
    "import-qe-wavefunction-missing": (
        2,
        "snapshot.save/wfc2.dat: wavefunction file missing",
        lambda i: import_qe(
            i, i.qe.damaged_copy(i.tmp, "qe_out/snapshot.save/wfc2.dat", Path.unlink)
        ),
    ),
    "import-qe-smearing": (
        2,
        "data-file-schema.xml: pw.x used 'gaussian' smearing; import needs Fermi-Dirac smearing",
        lambda i: import_qe(
            i,
            i.qe.damaged_copy(i.tmp, "qe_out/snapshot.save/data-file-schema.xml", damage_smearing),
        ),
    ),
    "import-qe-cube-options": (
        2,
        "error: --width: the cube files carry their own energies and broadening",
        lambda i: import_qe(i, i.qe.output, "--cubes", "a.cube", "b.cube", "--width", "0.1"),
    ),
}


def damaged_checkpoint(inputs: Inputs, damage: Callable[[Path], None]) -> Path:
    copy = inputs.tmp / "damaged" / inputs.checkpoint.name
    copy.parent.mkdir()
    shutil.copy(inputs.checkpoint, copy)
    damage(copy)
    return copy


def foreign_checkpoint(inputs: Inputs) -> Path:
    """A loadable torch file that is not a checkpoint of this project."""
    path = inputs.tmp / "foreign.ckpt"
    torch.save({"state_dict": {"weight": torch.zeros(2)}}, path)
    return path


def predict(inputs: Inputs, checkpoint: Path) -> None:
    """``ldos-surrogate predict``, which returns 2 after printing an InputError."""
    atoms = inputs.store / "Be_snapshot3" / "atoms.extxyz"
    arguments = ["predict", str(checkpoint), str(atoms), "--grid", "18", "18", "27"]
    cli([*arguments, "--out", str(inputs.tmp / "prediction")])


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_reported(case: str, inputs: Inputs, capsys: pytest.CaptureFixture) -> None:
    status, message, action = CASES[case]
    if case == "storage-no-server":
        pytest.importorskip("psycopg", reason="psycopg not installed (extra 'parallel')")
    seen_status, seen = user_sees(lambda: action(inputs))
    seen += capsys.readouterr().err  # commands that print their error themselves
    assert seen_status == status, seen
    assert message in seen
    assert not (inputs.tmp / "run" / "checkpoints").exists()  # nothing trained


def test_descriptor_cache_truncated_is_recomputed(inputs: Inputs) -> None:
    """Not an error: an unreadable cache entry is ignored and computed again (row
    ``descriptor-cache-truncated``)."""
    store = inputs.damaged(
        descriptor_cache_file(inputs.store, "Be_snapshot1").relative_to(inputs.store), truncate
    )
    snapshot = read_snapshot(store / "Be_snapshot1")
    recomputed = np.asarray(cached_descriptors(snapshot, BE2_PARAMS))
    stored = np.load(descriptor_cache_file(inputs.store, "Be_snapshot1"))
    np.testing.assert_allclose(recomputed, stored, rtol=1e-4, atol=1e-6)  # LAMMPS vs MALA's


def test_table_lists_every_case() -> None:
    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", TABLE.read_text(), flags=re.MULTILINE)
    assert sorted(rows) == sorted([*CASES, "descriptor-cache-truncated"])
    assert len(rows) == len(set(rows))


def run_script(script: str, arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python <script> <arguments>`` as the user runs it, in ``cwd``."""
    return subprocess.run(
        [sys.executable, str(REPO / script), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=os.environ | {"LDOS_SURROGATE_ROOT": str(REPO)},
    )


@pytest.mark.parametrize(
    ("script", "override", "status", "last_line"),
    [
        ("search.py", "hydra.sweeper.storage=notaurl", 2, "error: hydra.sweeper.storage: cannot"),
        ("train.py", "data.batch_size=0", 2, "error: data: batch_size: must be a positive integer"),
        ("train.py", "trainer.max_epochs=-5", 2, "error: trainer: `max_epochs` must be"),
        # not bad input: a failing task is Hydra's to report
        ("train.py", "+callbacks.broken._target_=math.sqrt", 1, "Set the environment variable"),
    ],
)
def test_the_rule_holds_for_the_real_commands(
    inputs: Inputs, script: str, override: str, status: int, last_line: str
) -> None:
    arguments = ["data=be2", f"data.dataset_dir={inputs.store}", *TINY, override]
    arguments += [f"paths.log_dir={inputs.tmp / 'logs'}", f"hydra.run.dir={inputs.tmp / 'run'}"]
    result = run_script(script, arguments, inputs.tmp)
    assert result.returncode == status, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith(last_line)


@pytest.mark.parametrize(
    ("script", "override", "message"),
    [
        ("train.py", "data=nonexistent", UNKNOWN_DATA_OPTION),
        (
            "train.py",
            "model.x=[",
            "error: override 'model.x=[': no viable alternative at input '['",
        ),
        (
            "search.py",
            "hparams_search=nonexistent",
            "error: In 'base': Could not find 'hparams_search/nonexistent'; available options: "
            "acsd, direct, naswot, naswot_optimized, oat, optuna, optuna_naswot",
        ),
        ("search.py", "foo=1", "error: Could not override 'foo'. (Key 'foo' is not in struct)"),
    ],
)
def test_composition_errors_are_one_line(
    tmp_path: Path, script: str, override: str, message: str
) -> None:
    result = run_script(script, [override, f"paths.log_dir={tmp_path / 'logs'}"], tmp_path)
    assert (result.returncode, result.stderr.strip()) == (2, message), result.stderr[-3000:]
    assert not (tmp_path / "logs").exists()  # nothing ran
