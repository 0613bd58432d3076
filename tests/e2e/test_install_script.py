"""``install.sh --dry-run``: what the README's ``bash install.sh`` installs, and what CI's
``bash install.sh --bench`` adds: MALA only for the benchmarks, Debian's python3-venv where
Python cannot make a virtual environment, torch at the pinned version (and from the index
the user names)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EDITABLE = "--config-settings editable_mode=compat"


def dry_run(*options: str, path: str | None = None, **env: str) -> list[str]:
    result = subprocess.run(
        ["bash", str(REPO / "install.sh"), "--dry-run", *options],
        capture_output=True,
        text=True,
        env=os.environ | env | ({"PATH": path} if path else {}),
        check=True,
    )
    return result.stdout.splitlines()


def test_plain_install_has_no_mala_and_ci_asks_for_it() -> None:
    plain = dry_run()
    assert plain[-1] == f".venv/bin/python -m pip install -q -e .[dev,parallel] {EDITABLE}"
    assert dry_run("--bench")[-1] == (
        f".venv/bin/python -m pip install -q -e .[dev,parallel,bench] {EDITABLE}"
    )
    assert "bash install.sh --bench" in (REPO / ".ci" / "run").read_text().splitlines()
    assert "bash install.sh && .venv/bin/python train.py" in (REPO / "README.md").read_text()


def test_torch_is_pinned_and_takes_the_index_the_user_names() -> None:
    assert ".venv/bin/python -m pip install -q torch==2.13.0" in dry_run()
    cpu_index = "https://download.pytorch.org/whl/cpu"
    assert f".venv/bin/python -m pip install -q torch==2.13.0 --index-url {cpu_index}" in dry_run(
        TORCH_INDEX_URL=cpu_index
    )


def test_debian_packages_come_only_where_missing(tmp_path: Path) -> None:
    """On this machine QE and venv are there: no apt-get. On a PATH without them (a fresh
    Debian without Quantum ESPRESSO and without a Python that makes environments) the script
    installs quantum-espresso and python3-venv first."""
    assert not [line for line in dry_run() if line.startswith("apt-get")]
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("dirname", "bash"):
        (bare / tool).symlink_to(shutil.which(tool))
    plan = dry_run(path=str(bare))
    assert plan[:2] == [
        "apt-get update -q",
        "apt-get install -y -q quantum-espresso quantum-espresso-data python3-venv",
    ]
    assert plan[2] == "python3 -m venv .venv"


def test_an_unknown_option_is_one_line() -> None:
    result = subprocess.run(
        ["bash", str(REPO / "install.sh"), "--gpu"], capture_output=True, text=True
    )
    assert (result.returncode, result.stderr) == (
        2,
        "error: install.sh: unknown option --gpu (--bench, --dry-run)\n",
    )
