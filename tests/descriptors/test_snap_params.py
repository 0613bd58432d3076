"""SnapParams: component counts, validation and the JSON form used in configs and cache keys."""

from __future__ import annotations

import json

import pytest

from ldos_surrogate.descriptors import SnapParams, n_bispectrum_components
from ldos_surrogate.errors import InputError


@pytest.mark.parametrize(
    ("twojmax", "expected"),
    [(0, 1), (2, 5), (3, 8), (6, 30), (8, 55), (10, 91)],
)
def test_component_count_is_the_lammps_closed_form(twojmax, expected):
    # LAMMPS manual: K = m(m+1)(2m+1)/6 for twojmax = 2(m-1), m(m+1)(m+2)/3 for 2m-1
    assert n_bispectrum_components(twojmax) == expected


def test_n_features_counts_quadratic_products():
    assert SnapParams(4.67637, 10).n_features == 91
    assert SnapParams(4.67637, 10, quadraticflag=1).n_features == 91 + 91 * 92 // 2


def test_per_element_defaults_and_cutoff():
    params = SnapParams(4.0, 6, radelem={"Al": 0.6}, wj={"Al": 0.9})
    assert params.radelem_of("Al") == 0.6 and params.wj_of("Al") == 0.9
    assert params.radelem_of("Be") == 0.5 and params.wj_of("Be") == 1.0
    assert params.cutoff_of("Be") == pytest.approx(4.0)
    assert params.cutoff_of("Al") == pytest.approx(4.8)


def test_dict_form_round_trips_through_json():
    params = SnapParams(4.67637, 10, radelem={"Be": 0.5, "Al": 0.6}, wj={"Al": 0.8})
    again = SnapParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params
    assert hash(again) == hash(params)


def test_resolved_form_makes_equivalent_parameters_equal():
    implicit = SnapParams(4.67637, 10)
    explicit = SnapParams(4.67637, 10, radelem={"Be": 0.5}, wj={"Be": 1.0, "Al": 2.0})
    assert implicit != explicit
    assert implicit.for_elements(["Be", "Be"]) == explicit.for_elements(["Be"])


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"rcut": -1.0}, "rcut"),
        ({"twojmax": 2.5}, "twojmax"),
        ({"rfac0": 1.2}, "rfac0"),
        ({"switchflag": 2}, "switchflag"),
        ({"radelem": {"Qq": 0.5}}, "radelem"),
        ({"wj": {"Al": 0.0}}, "wj.Al"),
    ],
)
def test_bad_values_name_the_key(kwargs, key):
    arguments = {"rcut": 4.0, "twojmax": 6} | kwargs
    with pytest.raises(InputError, match=key):
        SnapParams(**arguments)


def test_unknown_dict_key_is_named():
    with pytest.raises(InputError, match="rcutfac"):
        SnapParams.from_dict({"rcut": 4.0, "twojmax": 6, "rcutfac": 1.0})
