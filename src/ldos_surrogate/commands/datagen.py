"""``ldos-surrogate datagen``: DFT snapshots at temperature T with Quantum ESPRESSO.

A built-in crystal: ``ldos-surrogate datagen --element Al --supercell 1 --temperature 298
--snapshots 8 --out data/al_fcc_298K``. Any structure, any element: ``ldos-surrogate datagen
--atoms md.extxyz --pseudo As=As.pz-bhs.UPF --ecutwfc 20 --kmesh 4 4 4 --temperature 300
--out data/mine`` (every frame one snapshot; ``--displacements debye`` or ``md`` to draw
thermal snapshots from one structure). Rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ldos_surrogate.datagen.dataset import LDOS_DTYPES, LDOS_METHODS, DatagenSettings, Generator
from ldos_surrogate.datagen.elements import ELEMENTS
from ldos_surrogate.datagen.ldos import KERNELS
from ldos_surrogate.datagen.md import MdSettings
from ldos_surrogate.datagen.namelist import parse_pw_settings
from ldos_surrogate.datagen.qe import QeRunner
from ldos_surrogate.datagen.structures import DISPLACEMENTS
from ldos_surrogate.errors import InputError

DEFAULTS = DatagenSettings(element="Al", supercell=1, temperature_k=298.0)
MD_DEFAULTS = MdSettings()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datagen",
        help="generate DFT snapshots (Quantum ESPRESSO) into a data set folder",
        description=__doc__,
    )
    add = parser.add_argument
    add("--element", help=f"a built-in crystal: one of {sorted(ELEMENTS)}")
    add(
        "--supercell",
        type=int,
        default=1,
        help="the crystal's conventional cell, or the --atoms cell, repeated n x n x n [1]",
    )
    add("--atoms", help="any ASE-readable structure file; each frame is one snapshot")
    add(
        "--pseudo",
        action="append",
        default=[],
        metavar="EL=FILE",
        help="pseudopotential of an element: a UPF name in --pseudo-dir or a path "
        f"(repeatable) [{', '.join(f'{e.symbol}={e.pseudopotential}' for e in ELEMENTS.values())}]",
    )
    add(
        "--displacements",
        choices=DISPLACEMENTS,
        help="thermal displacements: Debye model, molecular dynamics, or none "
        "[debye for --element, none for --atoms]",
    )
    add("--debye-temperature", type=float, help="Debye temperature in K [the element's]")
    add("--md-timestep", type=float, default=MD_DEFAULTS.timestep_fs, help="fs [%(default)s]")
    add(
        "--md-friction",
        type=float,
        default=MD_DEFAULTS.friction_per_fs,
        help="Langevin friction, 1/fs [%(default)s]",
    )
    add(
        "--md-equilibration",
        type=float,
        default=MD_DEFAULTS.equilibration_ps,
        help="ps before the first snapshot [%(default)s]",
    )
    add(
        "--md-interval",
        type=float,
        default=MD_DEFAULTS.interval_ps,
        help="ps between snapshots [%(default)s]",
    )
    add("--temperature", type=float, required=True, help="temperature in K")
    add(
        "--snapshots",
        type=int,
        help="number of snapshots [every frame of --atoms; required for debye and md]",
    )
    add("--out", type=Path, required=True, help="data set folder")
    add("--seed", type=int, default=DEFAULTS.seed, help="seed of the thermal displacements [0]")
    add("--ecutwfc", type=float, help="plane-wave cutoff in Ry [the elements' largest]")
    add(
        "--kmesh",
        type=int,
        nargs=3,
        help="SCF k-mesh [the elements' k-point density; for --element divided by supercell]",
    )
    add("--nscf-kmesh", type=int, nargs=3, help="NSCF k-mesh [the SCF mesh]")
    add("--energy-below", type=float, help="energy grid start below E_F, eV [the element's]")
    add(
        "--energy-above",
        type=float,
        default=DEFAULTS.energy_above_fermi_ev,
        help=f"energy grid end above E_F, eV [{DEFAULTS.energy_above_fermi_ev}]",
    )
    add(
        "--energy-spacing",
        type=float,
        default=DEFAULTS.energy_spacing_ev,
        help=f"energy grid spacing, eV [{DEFAULTS.energy_spacing_ev}]",
    )
    add(
        "--kernel",
        choices=KERNELS,
        default=DEFAULTS.broadening_kernel,
        help=f"LDOS broadening kernel [{DEFAULTS.broadening_kernel}]",
    )
    add(
        "--width",
        type=float,
        default=DEFAULTS.broadening_width_ev,
        help=f"LDOS broadening width (Gaussian sigma), eV [{DEFAULTS.broadening_width_ev}]",
    )
    add(
        "--ldos-method",
        choices=LDOS_METHODS,
        default=DEFAULTS.ldos_method,
        help=f"LDOS from the QE wavefunctions or by pp.x [{DEFAULTS.ldos_method}]",
    )
    add(
        "--ldos-dtype",
        choices=sorted(LDOS_DTYPES),
        default=DEFAULTS.ldos_dtype,
        help=f"storage precision of ldos.npy [{DEFAULTS.ldos_dtype}]",
    )
    add("--pseudo-dir", default=DEFAULTS.pseudo_dir, help=f"[{DEFAULTS.pseudo_dir}]")
    add("--mpi", type=int, default=1, help="run QE under mpirun -np N [1]")
    add("--timeout", type=float, help="seconds per QE run [none]")
    add(
        "--pw",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="extra pw.x namelist setting, e.g. system.ecutrho=200 (repeatable)",
    )
    add("--scratch", type=Path, help="scratch directory [the system's temporary directory]")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    md = None
    if args.displacements == "md":
        md = MdSettings(args.md_timestep, args.md_friction, args.md_equilibration, args.md_interval)
    settings = DatagenSettings(
        element=args.element,
        supercell=args.supercell,
        atoms_file=args.atoms,
        displacements=args.displacements,
        debye_temperature_k=args.debye_temperature,
        md=md,
        pseudopotentials=_pseudopotentials(args.pseudo) or None,
        pw_extra=parse_pw_settings(args.pw) or None,
        temperature_k=args.temperature,
        seed=args.seed,
        ecutwfc_ry=args.ecutwfc,
        k_mesh=tuple(args.kmesh) if args.kmesh else None,
        nscf_k_mesh=tuple(args.nscf_kmesh) if args.nscf_kmesh else None,
        energy_below_fermi_ev=args.energy_below,
        energy_above_fermi_ev=args.energy_above,
        energy_spacing_ev=args.energy_spacing,
        broadening_kernel=args.kernel,
        broadening_width_ev=args.width,
        ldos_method=args.ldos_method,
        ldos_dtype=args.ldos_dtype,
        pseudo_dir=args.pseudo_dir,
    )
    generator = Generator(settings, args.out, QeRunner(args.mpi, args.timeout), args.scratch)
    names = generator.run(args.snapshots)
    print(f"{args.out}: {len(names)} snapshots")
    return 0


def _pseudopotentials(values: list[str]) -> dict[str, str]:
    """Parse repeated ``--pseudo EL=FILE`` options."""
    parsed = {}
    for value in values:
        symbol, equals, name = value.partition("=")
        if not (equals and symbol.strip() and name.strip()):
            raise InputError(f"--pseudo {value!r}: expected EL=FILE, e.g. As=As.pz-bhs.UPF")
        parsed[symbol.strip()] = name.strip()
    return parsed
