"""``ldos-surrogate import-qe SCF_OUTPUT --out DATASET``: an existing Quantum ESPRESSO
calculation becomes a snapshot of the store, checked like a generated one.

The LDOS comes from the wavefunctions of the ``.save`` folder the run wrote (``--nscf
NSCF_OUTPUT`` when an NSCF run with more bands wrote it), or from pp.x LDOS cube files
(``--cubes ldos_*.cube``). Examples::

    ldos-surrogate import-qe scf.out --nscf nscf.out --out data/mine
    ldos-surrogate import-qe scf.out --cubes tmp.pp*_ldos.cube --out data/mine
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from ldos_surrogate.datagen.dataset import LDOS_DTYPES
from ldos_surrogate.datagen.ldos import KERNELS
from ldos_surrogate.datagen.qe_import import WindowSettings, import_qe_run
from ldos_surrogate.errors import InputError

DEFAULTS = WindowSettings()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-qe",
        help="import an existing Quantum ESPRESSO run (pw.x output + .save, or pp.x cubes)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("scf_output", help="pw.x text output of the SCF run")
    add("--out", required=True, help="data set folder (created, or appended to)")
    add("--nscf", help="pw.x output of the NSCF run whose wavefunctions the save folder holds")
    add("--save", help="the <prefix>.save folder [the one the output names]")
    add("--cubes", nargs="+", default=[], help="pp.x plot_num=3 LDOS cube files, one per energy")
    add("--name", help="snapshot name [snapshot_NNNN, the next number]")
    add("--energy-below", type=float, help="grid start below E_F, eV [band bottom - 1 eV]")
    add("--energy-above", type=float, help=f"grid end above E_F, eV [{DEFAULTS.above_ev}]")
    add("--energy-spacing", type=float, help=f"grid spacing, eV [{DEFAULTS.spacing_ev}]")
    add("--kernel", choices=KERNELS, help=f"LDOS broadening kernel [{DEFAULTS.kernel}]")
    add("--width", type=float, help=f"LDOS broadening width, eV [{DEFAULTS.width_ev}]")
    add("--ldos-dtype", choices=sorted(LDOS_DTYPES), default="float16", help="[float16]")
    parser.set_defaults(func=run)


WINDOW_OPTIONS = {  # WindowSettings field -> option
    "below_ev": "energy_below",
    "above_ev": "energy_above",
    "spacing_ev": "energy_spacing",
    "kernel": "kernel",
    "width_ev": "width",
}


def run(args: argparse.Namespace) -> int:
    given = {
        field.name: getattr(args, WINDOW_OPTIONS[field.name])
        for field in fields(WindowSettings)
        if getattr(args, WINDOW_OPTIONS[field.name]) is not None
    }
    if args.cubes and given:
        options = ", ".join(f"--{WINDOW_OPTIONS[key].replace('_', '-')}" for key in given)
        raise InputError(f"{options}: the cube files carry their own energies and broadening")
    snapshot = import_qe_run(
        args.scf_output,
        args.out,
        nscf_output=args.nscf,
        save_dir=args.save,
        cubes=args.cubes,
        name=args.name,
        window=WindowSettings(**given),
        ldos_dtype=args.ldos_dtype,
    )
    checks = snapshot.meta.provenance["checks"]
    print(
        f"{snapshot.path}: {checks['electrons_at_dft_fermi_level']:.4f} of "
        f"{snapshot.meta.n_electrons:g} electrons at the DFT Fermi level, band energy "
        f"{checks['band_energy_ev']:.6f} eV (broadened states {checks['band_energy_of_broadened_states_ev']:.6f} eV)"
    )
    return 0
