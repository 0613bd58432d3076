"""`ldos-surrogate info SNAPSHOT`: grid, cell, atoms, energy grid, DFT references, provenance.

The summary fits a terminal: nested provenance entries one per line (``key.sub``), a long list
as its length and range (the Kohn-Sham eigenvalues of a snapshot are thousands of numbers),
long text cut. ``--json`` prints everything instead: the snapshot's metadata as stored
(``meta.json``) and its atoms.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ldos_surrogate.io.open import (
    add_energy_grid_argument,
    energy_grid_from_argument,
    open_snapshot,
)

LABEL_WIDTH = 13
TEXT_LIMIT = 80  # characters of a value shown in the summary
LIST_LIMIT = 6  # numbers of a list shown in full


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="print what a snapshot holds")
    parser.add_argument(
        "snapshot", help="snapshot folder, or MALA prefix such as data/Be_snapshot0"
    )
    add_energy_grid_argument(parser)
    parser.add_argument(
        "--json", action="store_true", help="everything (metadata and atoms) as JSON"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    snapshot = open_snapshot(args.snapshot, energy_grid_from_argument(args.energy_grid))
    if args.json:
        atoms = snapshot.atoms()
        everything = {
            "snapshot": str(args.snapshot),
            "meta": snapshot.meta.to_json(),
            "atoms": {
                "symbols": atoms.get_chemical_symbols(),
                "positions_angstrom": atoms.get_positions().tolist(),
            },
        }
        print(json.dumps(everything, indent=2))
    else:
        print("\n".join(summary(args.snapshot, snapshot)))
    return 0


def summary(name: str, snapshot: Any) -> list[str]:
    """The lines of the readable summary."""
    meta = snapshot.meta
    atoms = snapshot.atoms()
    grid = meta.energy_grid
    lines = [
        _line("snapshot", name),
        _line("atoms", f"{len(atoms)}: {atoms.get_chemical_formula()}"),
        _line(
            "grid", f"{' x '.join(map(str, meta.grid_shape))} = {np.prod(meta.grid_shape)} points"
        ),
        "cell (Angstrom)",
        *(" " * (LABEL_WIDTH + 1) + "  ".join(f"{x:12.6f}" for x in row) for row in meta.cell),
        _line("volume", f"{abs(np.linalg.det(meta.cell)):.6f} Angstrom^3"),
        _line(
            "energy grid",
            f"{grid.count} energies from {grid.start_ev:g} eV, spacing {grid.spacing_ev:g} eV "
            f"(to {grid.energies[-1]:g} eV)",
        ),
    ]
    if meta.broadening is not None:
        kernel = meta.broadening
        lines.append(_line("broadening", f"{kernel.kernel}, width {kernel.width_ev:g} eV"))
    lines += [
        _line("temperature", f"{meta.temperature_k:g} K"),
        _line("Fermi energy", f"{meta.fermi_energy_ev:.6f} eV (DFT)"),
        _line("electrons", f"{meta.n_electrons:g}"),
    ]
    lines += [
        _line(key, f"{value:.6f} eV  ({value / len(atoms):.6f} eV/atom)")
        for key, value in meta.reference.items()
    ]
    lines += [_line(key, text) for key, text in _flatten(meta.provenance)]
    return lines


def _line(label: str, text: str) -> str:
    return f"{label:{LABEL_WIDTH}s} {text}"


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted key, short text) of every entry, nested mappings one entry per line."""
    for key, value in mapping.items():
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", _short(value)


def _short(value: Any) -> str:
    """A value as a person reads it at a glance: a long list of numbers as its shape and
    range, long text cut."""
    if isinstance(value, list | tuple):
        try:
            numbers = np.asarray(value, dtype=float)
        except (TypeError, ValueError):  # not (a regular array of) numbers
            numbers = None
        if numbers is not None and numbers.size and (numbers.ndim > 1 or numbers.size > LIST_LIMIT):
            shape = " x ".join(map(str, numbers.shape))
            return f"{shape} numbers, {numbers.min():.6g} ... {numbers.max():.6g}"
    text = str(value)
    return text if len(text) <= TEXT_LIMIT else f"{text[: TEXT_LIMIT - 3]}..."
