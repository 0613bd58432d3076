"""Open a snapshot given on the command line: a store folder or a MALA prefix."""

from __future__ import annotations

from pathlib import Path

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.mala import MalaSnapshot, read_mala_snapshot
from ldos_surrogate.io.store import EnergyGrid, Snapshot, read_snapshot


def open_snapshot(
    spec: str | Path, energy_grid: EnergyGrid | None = None
) -> Snapshot | MalaSnapshot:
    """A store snapshot folder, or a MALA prefix (``.../Be_snapshot0``; needs ``energy_grid``)."""
    path = Path(spec)
    if path.is_dir():
        return read_snapshot(path)
    if Path(f"{path}.info.json").exists():
        if energy_grid is None:
            raise InputError(
                f"{path}: MALA files do not store the energy grid; give it (--energy-grid START SPACING COUNT)"
            )
        return read_mala_snapshot(path, energy_grid)
    raise InputError(f"{path}: neither a snapshot folder nor a MALA prefix (<prefix>.info.json)")


def add_energy_grid_argument(parser) -> None:
    """The ``--energy-grid START SPACING COUNT`` option for MALA prefixes (eV, eV, count)."""
    parser.add_argument(
        "--energy-grid",
        nargs=3,
        metavar=("START_EV", "SPACING_EV", "COUNT"),
        help="energy grid of a MALA-format snapshot (MALA files do not store it), e.g. -5 2.5 11",
    )


def energy_grid_from_argument(values: list[str] | None) -> EnergyGrid | None:
    """Parse the ``--energy-grid`` option."""
    if values is None:
        return None
    try:
        return EnergyGrid(float(values[0]), float(values[1]), int(values[2]))
    except ValueError as error:
        raise InputError(
            f"--energy-grid: expected START SPACING COUNT numbers, got {values}"
        ) from error
