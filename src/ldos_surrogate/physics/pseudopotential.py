"""What the total energy needs from a pseudopotential file (UPF version 2): the valence
charge Z of the ion (Ewald sum), the exchange-correlation functional, and the partial core
charge of a nonlinear core correction (``PP_NLCC`` on the radial mesh, core_charge.py).

Eq. (7) from the valence density is exact for norm-conserving pseudopotentials, with or
without core correction (e.g. Al.pz-vbc.UPF, Mg.pz-n-vbc.UPF): the core charge is known
from the file and the positions. Ultrasoft and PAW files are refused: their augmentation
charges (and PAW's one-centre energies) depend on the projections of the wavefunctions,
which the LDOS does not hold; `supports_total_energy` says which files qualify.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ldos_surrogate.errors import InputError
from ldos_surrogate.physics.core_charge import RadialCoreCharge
from ldos_surrogate.physics.xc import FUNCTIONALS, functional_from_name

_HEADER = re.compile(r"<PP_HEADER\b(.*?)/?>", re.DOTALL)
_ATTRIBUTE = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
NORM_CONSERVING = "NC"


@dataclass(frozen=True)
class Pseudopotential:
    """Header facts of one UPF file; `functional` is one of xc.FUNCTIONALS or None if unknown."""

    path: Path
    element: str
    z_valence: float
    functional: str | None
    functional_name: str
    pseudo_type: str
    core_correction: bool
    core_charge: RadialCoreCharge | None = None  # read when core_correction is set

    @property
    def supports_total_energy(self) -> bool:
        """True for norm-conserving files with a known functional (core charge read if any)."""
        return self.pseudo_type == NORM_CONSERVING and self.functional is not None


def read_upf(path: str | Path) -> Pseudopotential:
    """Read the PP_HEADER of a UPF v2 file; InputError naming the file on problems."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise InputError(f"{path}: cannot read pseudopotential ({error.strerror})") from error
    match = _HEADER.search(text)
    if match is None:
        raise InputError(f"{path}: no <PP_HEADER .../> (only UPF version 2 files are read)")
    attributes = {key.lower(): value.strip() for key, value in _ATTRIBUTE.findall(match.group(1))}
    try:
        z_valence = float(attributes["z_valence"])
        name = attributes["functional"]
        element = attributes["element"]
    except (KeyError, ValueError) as error:
        raise InputError(f"{path}: PP_HEADER lacks a valid {error}") from error
    try:
        functional = functional_from_name(name, str(path))
    except InputError:
        functional = None
    pseudo_type = attributes.get("pseudo_type", "").upper()
    core_correction = attributes.get("core_correction", "false").lower() in ("true", "t", ".true.")
    core_charge = None
    if core_correction and pseudo_type == NORM_CONSERVING:
        core_charge = RadialCoreCharge.from_mesh(
            *(_radial_array(text, tag, path) for tag in ("PP_R", "PP_RAB", "PP_NLCC"))
        )
    return Pseudopotential(
        path=path,
        element=element,
        z_valence=z_valence,
        functional=functional,
        functional_name=name,
        pseudo_type=pseudo_type,
        core_correction=core_correction,
        core_charge=core_charge,
    )


def _radial_array(text: str, tag: str, path: Path) -> np.ndarray:
    """The numbers of the UPF section ``<tag ...> ... </tag>``; InputError naming the file."""
    match = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", text, flags=re.DOTALL)
    try:
        values = np.array(match.group(1).split(), dtype=np.float64)
    except (AttributeError, ValueError) as error:
        raise InputError(f"{path}: no readable <{tag}> section ({error})") from error
    return values


def core_charges(pseudos: Mapping[str, Pseudopotential]) -> dict[str, RadialCoreCharge]:
    """Element -> partial core charge, for the pseudopotentials that have one."""
    return {e: p.core_charge for e, p in pseudos.items() if p.core_charge is not None}


DEFAULT_PSEUDO_DIRS = (Path("/usr/share/espresso/pseudo"),)
"""Where Debian's quantum-espresso package installs its pseudopotentials."""


def find_pseudopotential(filename: str, directories: list[Path]) -> Path | None:
    """The first `directories[i] / filename` that exists, then $ESPRESSO_PSEUDO, then Debian's."""
    extra = [Path(os.environ["ESPRESSO_PSEUDO"])] if "ESPRESSO_PSEUDO" in os.environ else []
    for directory in [*directories, *extra, *DEFAULT_PSEUDO_DIRS]:
        candidate = directory / filename
        if candidate.is_file():
            return candidate
    return None


def pseudopotentials_for(
    names: Mapping[str, str], elements: Iterable[str], directories: list[Path]
) -> tuple[dict[str, Pseudopotential] | None, str | None]:
    """The pseudopotential of each element from its file name (``names``: element -> UPF file,
    as recorded in a snapshot's provenance), looked up with `find_pseudopotential`.

    Returns (element -> header, None), or (None, the reason) when one is not named or found.
    """
    found = {}
    for element in elements:
        if element not in names:
            return None, f"no pseudopotential named for {element}"
        path = find_pseudopotential(names[element], directories)
        if path is None:
            return None, (
                f"pseudopotential {names[element]} not found (give its folder: "
                "paths.pseudo_dirs for train.py, --pseudo-dir on the command line)"
            )
        found[element] = read_upf(path)
    return found, None


def why_no_total_energy(pseudos: Iterable[Pseudopotential]) -> str | None:
    """None when Eq. (7) can be evaluated from the LDOS with these pseudopotentials, else why."""
    pseudos = list(pseudos)
    for pseudo in pseudos:
        if pseudo.functional is None:
            return (
                f"{pseudo.path}: functional {pseudo.functional_name!r} is not one of "
                f"{FUNCTIONALS}, so Eq. (7) cannot be evaluated"
            )
        if not pseudo.supports_total_energy:
            return (
                f"{pseudo.path}: {pseudo.pseudo_type or 'unknown type'} pseudopotential; Eq. (7)"
                " from the LDOS needs norm-conserving ones (ultrasoft and PAW augmentation"
                " charges depend on the wavefunctions, which the LDOS does not hold)"
            )
    if len({pseudo.functional for pseudo in pseudos}) > 1:
        return "the pseudopotentials use different functionals"
    return None
