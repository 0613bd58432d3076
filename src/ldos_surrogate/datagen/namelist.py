"""Extra pw.x namelist settings (``datagen --pw SECTION.KEY=VALUE``), checked against what the
pipeline needs before any run starts.

Any variable of the ``&CONTROL``, ``&SYSTEM`` or ``&ELECTRONS`` namelist may be added (e.g.
``system.ecutrho=200``, ``electrons.mixing_beta=0.3``) and goes into the SCF and the NSCF
input; the NSCF keeps its own ``conv_thr`` and ``diagonalization``. Refused, with the reason:
the variables the pipeline sets itself, and those that describe physics the LDOS store and
Eq. (7) do not represent (spin, Hubbard U, dispersion corrections, fields, charged cells).
A variable pw.x does not know is pw.x's own error, reported with its log file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ldos_surrogate.errors import InputError

SECTIONS = ("control", "system", "electrons")

_SET_BY_THE_PIPELINE = {
    "calculation": "the pipeline runs scf, then nscf",
    "prefix": "the pipeline reads the files pw.x writes under its own prefix",
    "outdir": "the pipeline reads the files pw.x writes in its own scratch folder",
    "wfcdir": "the pipeline reads the wavefunctions from its own scratch folder",
    "pseudo_dir": "use --pseudo-dir or --pseudo El=FILE",
    "disk_io": "the LDOS is assembled from the wavefunction files pw.x writes",
    "ibrav": "the cell comes from the atoms (CELL_PARAMETERS)",
    "celldm": "the cell comes from the atoms (CELL_PARAMETERS)",
    "nat": "the atom count comes from the atoms",
    "ntyp": "the species come from the atoms",
    "ecutwfc": "use --ecutwfc",
    "nbnd": "the band count is chosen to cover the energy window",
    "occupations": "Fermi-Dirac smearing at the snapshot temperature is what the LDOS assumes",
    "smearing": "Fermi-Dirac smearing at the snapshot temperature is what the LDOS assumes",
    "degauss": "degauss is k_B T of --temperature",
    "nosym": "the LDOS needs every k-point (no symmetry reduction)",
    "noinv": "the LDOS sums over k-points reduced by time reversal only",
    "nosym_evc": "the LDOS needs every k-point (no symmetry reduction)",
}
_NOT_IN_THE_MODEL = {
    "nspin": "spin-polarised runs are not supported (the LDOS is spin-summed)",
    "noncolin": "noncollinear runs are not supported (the LDOS is spin-summed)",
    "lspinorb": "spin-orbit runs are not supported (the LDOS is spin-summed)",
    "starting_magnetization": "spin-polarised runs are not supported",
    "tot_magnetization": "spin-polarised runs are not supported",
    "lda_plus_u": "a Hubbard energy is not part of Eq. (7)",
    "input_dft": "Eq. (7) takes the functional from the pseudopotential files",
    "tot_charge": "Eq. (7) assumes a neutral cell",
    "vdw_corr": "a dispersion energy is not part of Eq. (7)",
    "london": "a dispersion energy is not part of Eq. (7)",
    "xdm": "a dispersion energy is not part of Eq. (7)",
    "assume_isolated": "Eq. (7) uses periodic Hartree and Ewald sums",
    "tefield": "an external field is not part of Eq. (7)",
    "lelfield": "an external field is not part of Eq. (7)",
    "gate": "an external field is not part of Eq. (7)",
    "lberry": "Berry-phase runs are not part of the pipeline",
}


def parse_pw_settings(items: Iterable[str]) -> dict[str, str]:
    """``SECTION.KEY=VALUE`` strings -> {"section.key": "value"}; InputError for a malformed
    or refused one, naming it."""
    parsed: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        section, dot, key = name.strip().lower().partition(".")
        if not (equals and dot and key and value.strip()):
            raise InputError(f"--pw {item!r}: expected SECTION.KEY=VALUE, e.g. system.ecutrho=200")
        parsed[f"{section}.{key}"] = value.strip()
    check_pw_settings(parsed)
    return parsed


def check_pw_settings(settings: Mapping[str, str]) -> None:
    """InputError unless every ``section.key`` may be passed to pw.x."""
    for name in settings:
        section, _, key = name.partition(".")
        base = key.split("(")[0]  # celldm(1), starting_magnetization(2), ...
        if section not in SECTIONS:
            raise InputError(f"--pw {name}: namelist {section!r} is not one of {SECTIONS}")
        reason = _SET_BY_THE_PIPELINE.get(base) or _NOT_IN_THE_MODEL.get(base)
        if base.startswith(("hubbard", "london_", "dftd3", "starting_ns")):
            reason = "a Hubbard or dispersion term is not part of Eq. (7)"
        if reason:
            raise InputError(f"--pw {name}: not allowed, {reason}")


def namelist_lines(settings: Mapping[str, str], section: str) -> list[str]:
    """``key = value`` lines of one namelist; strings are quoted, numbers and Fortran logicals
    (.true., .false.) and values already in quotes are written as given."""
    lines = []
    for name, value in settings.items():
        name_section, _, key = name.partition(".")
        if name_section == section:
            lines.append(f"{key} = {_fortran_value(value)}")
    return lines


def _fortran_value(value: str) -> str:
    if value[0] in "'\"" or value.lower() in (".true.", ".false."):
        return value
    try:
        float(value.lower().replace("d", "e"))
    except ValueError:
        return f"'{value}'"
    return value
