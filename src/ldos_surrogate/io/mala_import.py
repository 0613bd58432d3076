"""Import a MALA-format data set into the snapshot store and the descriptor cache.

Each MALA snapshot ``<prefix>.{in,out}.npy`` + ``<prefix>.info.json`` becomes the store
folder ``<out_dir>/<prefix name>`` (LDOS, atoms, meta; ``<prefix>.dens.npy`` as the
density, electrons/Angstrom^3, when present) and is appended to the manifest. MALA's
features (``.in.npy`` without its 3 coordinate columns) go into the descriptor cache under
SnapParams(rcut, twojmax) with every other field at its default (rfac0 0.99363, radelem
0.5, wj 1, switchflag 1, bzeroflag 0, quadraticflag 0: the LAMMPS settings MALA uses), so
training on the imported set needs no LAMMPS run. MALA files do not record rcut and
twojmax (Be2: 4.67637 Angstrom and 10): they are arguments, as is the energy grid.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ldos_surrogate.descriptors import SnapParams, store_descriptors
from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import MalaSnapshot, read_mala_snapshot
from ldos_surrogate.io.store import EnergyGrid, Snapshot, add_to_manifest, write_snapshot

INFO_SUFFIX = ".info.json"


def mala_prefixes(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """The snapshot prefixes of a MALA folder (every ``*.info.json``, in natural order:
    snapshot2 before snapshot10), or the given prefixes themselves."""
    if isinstance(source, str | Path):
        folder = Path(source)
        if not folder.is_dir():
            raise InputError(f"{folder}: MALA data folder not found")
        prefixes = [
            path.with_name(path.name[: -len(INFO_SUFFIX)])
            for path in folder.glob(f"*{INFO_SUFFIX}")
        ]
        if not prefixes:
            raise InputError(f"{folder}: holds no MALA snapshot (<prefix>{INFO_SUFFIX})")
        return sorted(prefixes, key=_natural_key)
    return [Path(prefix) for prefix in source]


def _natural_key(path: Path) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def import_mala_dataset(
    source: str | Path | Sequence[str | Path],
    energy_grid: EnergyGrid,
    out_dir: str | Path,
    rcut: float,
    twojmax: int,
    cache_dir: str | Path | None = None,
) -> list[Snapshot]:
    """Write every MALA snapshot of ``source`` (a folder or a list of prefixes) into the
    store at ``out_dir``, its features into the descriptor cache; return the snapshots."""
    out_dir = Path(out_dir)
    params = SnapParams(rcut=rcut, twojmax=twojmax)
    imported = []
    for prefix in mala_prefixes(source):
        mala = read_mala_snapshot(prefix, energy_grid)
        descriptors = mala.descriptors()
        if descriptors.shape[3] != params.n_features:
            raise InputError(
                f"{prefix}.in.npy: {descriptors.shape[3]} features, but twojmax {twojmax} "
                f"gives {params.n_features}"
            )
        meta = dataclasses.replace(
            mala.meta, provenance={**mala.meta.provenance, "imported_from": str(prefix)}
        )
        snapshot = write_snapshot(
            out_dir / mala.name, meta, mala.atoms(), mala.ldos(), _density(mala)
        )
        store_descriptors(snapshot, params, descriptors, cache_dir, source=f"MALA {prefix}.in.npy")
        add_to_manifest(out_dir, mala.name)
        imported.append(snapshot)
    return imported


def _density(mala: MalaSnapshot) -> np.ndarray | None:
    """``<prefix>.dens.npy`` (electrons/Angstrom^3) on the snapshot grid, or None."""
    path = Path(f"{mala.prefix}.dens.npy")
    if not path.exists():
        return None
    try:
        density = np.load(path)
    except (ValueError, OSError) as error:
        raise InputError(f"{path}: not a readable .npy array ({error})") from error
    grid = mala.meta.grid_shape
    if density.shape == (*grid, 1):
        density = density[..., 0]
    if density.shape != grid:
        raise InputError(f"{path}: shape {density.shape} does not match the grid {grid}")
    if not np.isfinite(density).all():
        raise InputError(f"{path}: contains NaN or inf values")
    return density
