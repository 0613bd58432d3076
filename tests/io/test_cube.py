"""The pp.x cube reader against MALA's Be2 data: cubes tmp.ppNNBe_ldos.cube are energy
index NN-1 of the -5 + 2.5 k eV grid of Be_snapshot0 (the snapshot the cubes belong to:
the other snapshots differ by 24 % or more)."""

from __future__ import annotations

import numpy as np
import pytest

from ldos_surrogate.errors import InputError
from ldos_surrogate.io.cube import LDOS_CUBE_TO_EV_ANGSTROM3, read_cube, read_ldos_cubes


def be2_cubes(mala_be2, part: str = "") -> list:
    return [mala_be2 / "cubes" / f"tmp.pp{n:02d}Be{part}_ldos.cube" for n in range(1, 12)]


def test_unit_conversion_is_rydberg_and_bohr():
    # 1 state/(Ry Bohr^3) = 1 / (13.6057 eV * 0.148185 Angstrom^3)
    conversion = LDOS_CUBE_TO_EV_ANGSTROM3
    assert conversion == pytest.approx(1 / (13.605693 * 0.14818471), rel=1e-7)


def test_cubes_reproduce_mala_ldos_of_snapshot0(mala_be2):
    ldos = read_ldos_cubes(be2_cubes(mala_be2))
    reference = np.load(mala_be2 / "Be_snapshot0.out.npy")
    assert ldos.shape == reference.shape == (18, 18, 27, 11)
    # MALA stored float32 of the same cube values: agreement to float32 rounding
    assert np.abs(ldos - reference).max() <= 1e-6 * np.abs(reference).max()
    for other in (1, 2, 3):
        different = np.load(mala_be2 / f"Be_snapshot{other}.out.npy")
        assert np.abs(ldos - different).max() > 0.2 * np.abs(different).max()


def test_cube_header_geometry_and_energies(mala_be2):
    cube = read_cube(be2_cubes(mala_be2)[2])
    assert "Energy =   0.0000 eV" in cube.comments[1]
    assert list(cube.atomic_numbers) == [4, 4]
    # hcp Be cell of the snapshot: a = 2.2598 Angstrom, c = 3.5699 Angstrom
    assert np.linalg.norm(cube.cell_angstrom, axis=1) == pytest.approx(
        [2.25983, 2.25983, 3.56988], abs=2e-4
    )
    # pp.x writes positive LDOS values (Fermi-Dirac broadening of |psi|^2)
    assert cube.values.min() > 0


def test_split_runs_agree_with_the_full_run(mala_be2):
    # Be_part2 starts at 0 eV: its first cube equals energy index 2 of the full run
    full = read_cube(be2_cubes(mala_be2)[2]).values
    part = read_cube(mala_be2 / "cubes" / "tmp.pp01Be_part2_ldos.cube").values
    np.testing.assert_array_equal(full, part)


def test_malformed_or_missing_cube_names_the_file(tmp_path, mala_be2):
    truncated = tmp_path / "broken.cube"
    lines = be2_cubes(mala_be2)[0].read_text().splitlines()
    truncated.write_text("\n".join(lines[:20]))
    with pytest.raises(InputError, match="broken.cube"):
        read_cube(truncated)
    with pytest.raises(InputError, match="absent.cube"):
        read_cube(tmp_path / "absent.cube")
