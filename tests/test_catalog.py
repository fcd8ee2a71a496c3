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


@pytest.mark.parametrize("lab,name", [(lab, p.name) for lab in ("batch-size", "input-gradient")
                                      for p in get(lab).params if p.kind == "float"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_a_number_that_is_not_a_number_is_refused_everywhere(lab, name, value):
    """nan passes every range check (each comparison is False) and once trained a
    lab to chance: -p, a deck's Lab: line and the app's form all resolve here."""
    with pytest.raises(ParamError, match=f"^{name}=.*: must be a finite number"):
        get(lab).resolve({name: value})


def test_a_deck_lab_line_with_nan_is_a_file_line_error(tmp_path):
    from companion.decks import parse_deck

    path = tmp_path / "d.md"
    path.write_text("---\nid: d\nname: D\n---\n## x\nQ: q\nA: a\nLab: batch-size lr=nan\n")
    _, errors = parse_deck(path)
    assert [str(e) for e in errors] == [f"{path}:8: card 'x': Lab: lr=nan: must be a finite "
                                        "number"]
