"""The lab catalog, torch-free: parameters are checked alone and together."""

from __future__ import annotations

import sys

import pytest

from labs.catalog import ParamError, get


def test_heads_must_divide_d_model_at_resolve_time():
    spec = get("transformer-trace")
    with pytest.raises(ParamError, match=r"^heads=3 must divide d_model=8: each head gets"):
        spec.resolve({"heads": "3"})
    with pytest.raises(ParamError, match="heads=4 must divide d_model=6"):
        spec.resolve({"d_model": "6", "heads": "4"})
    assert spec.resolve({"heads": "2"})["heads"] == 2
    assert spec.resolve({"d_model": "12", "heads": "3"})["d_model"] == 12
    assert spec.resolve({}) == spec.defaults()


def test_single_parameter_checks_still_come_first():
    with pytest.raises(ParamError, match="heads='x': expected a whole number"):
        get("transformer-trace").resolve({"heads": "x"})
    with pytest.raises(ParamError, match="heads=0: must be at least 1"):
        get("transformer-trace").resolve({"heads": "0"})


def test_every_lab_s_defaults_pass_its_own_checks():
    from labs.catalog import LABS

    for spec in LABS.values():
        assert spec.resolve({}) == spec.defaults(), spec.name


def test_the_catalog_stays_torch_free():
    import subprocess

    code = ("import sys, labs.catalog as c; c.get('transformer-trace').resolve({'heads': '2'}); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


def test_a_sentence_outside_the_vocabulary_is_refused_before_the_lab_runs():
    spec = get("transformer-trace")
    with pytest.raises(ParamError, match="sentence: unknown word 'elephant'; the vocabulary"):
        spec.resolve({"sentence": "the elephant sat"})
    with pytest.raises(ParamError, match="sentence is empty"):
        spec.resolve({"sentence": "  "})
    assert spec.resolve({"sentence": "The dog ran"})["sentence"] == "The dog ran"
