"""The hostile-media suite (tests/hostile_media.py): every file ends in a report or in one clear line and exit 2,
each within a time limit, never in a traceback, a crash or a hang."""

from __future__ import annotations

import pytest
from hostile_media import CASES, TIME_LIMIT_S, Outcome, generate, run_cases


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    files = generate(tmp_path_factory.mktemp("hostile"))
    return {outcome.case: outcome for outcome in run_cases(files, timeout_s=TIME_LIMIT_S)}


def diagnostics(outcome: Outcome) -> dict[str, dict]:
    return {d["code"]: d for d in outcome.report["diagnostics"]}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file_ends_in_a_report_or_one_clear_line(case, outcomes):
    outcome = outcomes[case.name]
    assert outcome.kind == case.expect, outcome
    if outcome.kind == "refused":
        assert all(words in outcome.message for words in case.says), outcome.message
    else:
        assert set(case.says) <= diagnostics(outcome).keys(), diagnostics(outcome).keys()


def test_eight_channels_at_96_khz_24_bit_are_analysed(outcomes):
    # This was a segmentation fault (exit 139).
    outcome = outcomes["8 ch 96 kHz 24-bit"]
    assert outcome.kind == "report", outcome
    media = outcome.report["media"]
    assert (media["channels"], media["sample_rate"], media["bit_depth"]) == (8, 96000, 24)
    assert outcome.report["sync"]["verdict"] == outcomes["plain"].report["sync"]["verdict"] == "in_sync"


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_footage_is_read_upright_and_the_report_names_the_rotation(outcomes, degrees):
    outcome = outcomes[f"rotated {degrees}"]
    assert outcome.report["media"]["rotation"] == degrees
    assert not diagnostics(outcome).keys() & {"FACE_NOT_FRONTAL", "FACE_NONE"}
    assert outcome.report["sync"]["verdict"] == "in_sync"  # measured as the upright original is


def test_a_44_1_khz_file_is_information_not_a_warning(outcomes):
    fired = diagnostics(outcomes["44.1 kHz AAC"])["AUDIO_SAMPLE_RATE"]
    assert fired["severity"] == "info" and "drift" not in fired["message"]
