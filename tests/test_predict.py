from __future__ import annotations

import pytest

from companion.predict import RIGHT, WRONG, evaluate, matches, parse_reveal, verdict

SUMMARY = {"examples_to_target": {"16": 3200, "256": 9000, "1257": None},
           "final_accuracy": {"16": 0.95, "256": 0.91}, "b_simple": 183.25}


def test_argmin_and_argmax_pick_the_choice():
    assert evaluate(parse_reveal("argmin examples_to_target"), SUMMARY) == (
        "16", "16 → 3200, 256 → 9000, 1257 → —")  # None reads as a result table shows it
    assert evaluate(parse_reveal("argmax final_accuracy"), SUMMARY)[0] == "16"


def test_a_plain_path_reads_the_value():
    assert evaluate(parse_reveal("final_accuracy.256"), SUMMARY) == ("0.91", "")
    assert evaluate(parse_reveal("b_simple"), SUMMARY) == ("183.2", "")


def test_a_missing_path_says_what_the_result_has():
    with pytest.raises(ValueError, match="no 'final_accuracy.64'.*it has: 16, 256"):
        evaluate(parse_reveal("final_accuracy.64"), SUMMARY)


@pytest.mark.parametrize("text", ["", "1 + 1", "__import__('os')", "max x", "a..b"])
def test_reveal_is_a_lookup_never_an_expression(text):
    with pytest.raises(ValueError):
        parse_reveal(text)


def test_matching_a_guess():
    assert matches(" 16 ", "16") and matches("0.910", "0.91") and matches("Pre", "pre")
    assert not matches("256", "16")


def test_a_verdict_judges_only_where_the_card_offers_choices():
    choices = ["16", "256"]
    assert verdict("argmin examples_to_target", choices, " 16 ", SUMMARY).judgement == RIGHT
    assert verdict("argmin examples_to_target", choices, "256", SUMMARY).judgement == WRONG
    assert verdict("argmin examples_to_target", choices, "", SUMMARY).judgement == ""
    # a free guess: nothing says how near is right; guess and measurement side by side
    for guess in ("0.91", "0.9", "0.5", "about nine in ten"):
        free = verdict("final_accuracy.256", [], guess, SUMMARY)
        assert free.judgement == "" and str(free) == f"You predicted: {guess} · measured: 0.91"
    misfit = verdict("final_accuracy.64", [], "0.9", SUMMARY)
    assert str(misfit).startswith("The lab ran, but this card's Reveal: does not fit")
    assert [role for _, role in misfit.pieces()] == ["problem"]
