"""Progressive analysis: where windows go, when reading stops, and what a long file measured that way reads."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from tracks import looped, replace_audio

from core.analyze import AnalysisOptions, analyze_file
from core.decode import decode_audio
from core.estimate import EstimatorSettings, estimate_sync
from core.estimate.sync import estimate_excerpts
from core.face import FaceTrack, track_faces_in_file
from core.model import SyncResult
from core.probe import probe
from core.progressive import (
    END_SHARE,
    PROGRESSIVE_MIN_S,
    SPREAD_PLACES,
    WINDOW_S,
    Window,
    gaps,
    join_excerpts,
    measure_progressively,
    pivot_s,
    plan_windows,
    replayed_windows,
    speech_per_second,
    sure_enough,
)
from core.synth import offset_audio

SETTINGS = EstimatorSettings()


def overlap(a: Window, b: Window) -> bool:
    return a.start_s < b.end_s and b.start_s < a.end_s


def test_windows_read_the_ends_and_the_middle_first_then_spread_without_overlap():
    plan = plan_windows(np.ones(600), 600.0)
    first = plan[:3]
    assert first[0].start_s == 0.0 and first[1].end_s == 600.0
    assert 250.0 <= first[2].start_s <= 350.0
    assert all(w.duration_s == WINDOW_S for w in plan)
    assert not any(overlap(a, b) for i, a in enumerate(plan) for b in plan[i + 1:])
    # Read to the end, the windows cover the file with gaps shorter than a window.
    starts = sorted(w.start_s for w in plan)
    assert max(np.diff(starts)) <= 2 * WINDOW_S and len(plan) >= 600 / (2 * WINDOW_S)


def test_after_the_spread_windows_go_near_the_ends_in_turn():
    plan = plan_windows(np.ones(3600), 3600.0)
    spread = sorted(w.start_s for w in plan[:SPREAD_PLACES])
    assert spread[0] == 0.0 and spread[-1] == 3590.0 and any(abs(s - 1800.0) <= WINDOW_S for s in spread)
    # A drift is a slope: windows far from the middle pin it down in fewer of them.
    zone = END_SHARE * 3600.0
    near_ends = plan[SPREAD_PLACES:SPREAD_PLACES + 20]
    assert [w.start_s < 1800.0 for w in near_ends] == [True, False] * 10
    assert all(w.end_s <= zone + WINDOW_S or w.start_s >= 3600.0 - zone - WINDOW_S for w in near_ends)
    # A short file has no room near its ends beyond the spread: it is planned as before.
    assert [w.start_s for w in plan_windows(np.ones(60), 60.0)[:5]] == [0.0, 50.0, 25.0, 12.0, 37.0]


def test_windows_move_onto_speech_and_skip_places_without_it():
    speech = np.zeros(600)
    speech[5:40] = 1.0  # talk near the start only, and a stretch after the middle
    speech[306:318] = 1.0
    plan = plan_windows(speech, 600.0)
    assert all(np.mean(speech[int(w.start_s):int(w.end_s)]) >= 0.3 for w in plan)
    assert plan[0].start_s >= 5.0  # moved off the silent first seconds
    assert any(300 <= w.start_s <= 310 for w in plan)  # the middle window, moved as far as it may
    # A file without speech still gets its start read, so the estimate can say why it does not answer.
    assert plan_windows(np.zeros(600), 600.0) == [Window(0.0, WINDOW_S)]


def test_the_part_a_timeline_uses_is_read_first():
    plan = plan_windows(np.ones(3600), 3600.0, first=(1200.0, 1230.0))
    assert plan[0] == Window(1200.0, 1230.0)
    assert not any(overlap(plan[0], w) for w in plan[1:])
    long_part = plan_windows(np.ones(3600), 3600.0, first=(1000.0, 2000.0))
    assert all(w.start_s >= 1000.0 and w.end_s <= 2000.0 for w in long_part[:3])


def answered(**changes) -> SyncResult:
    base = SyncResult("offset", 120.0, 3.0, 6.0, 0.99, opinions={"drift_interval_ms_per_min": [5.5, 6.5]})
    return replace(base, **changes)


def test_reading_stops_only_when_answer_drift_and_splices_are_pinned_down():
    windows = [Window(0.0, 10.0), Window(590.0, 600.0), Window(300.0, 310.0)]
    assert sure_enough(answered(), windows, (0.0, 600.0), 25.0)
    assert not sure_enough(SyncResult.inconclusive("no"), windows, (0.0, 600.0), 25.0)
    # Drift's interval too wide for the file's length: the line turns about the middle of the windows (at 302 s),
    # so +-2 ms/min moves the ends of 10 minutes by 10 ms, while it moves the end of an hour by 110 ms.
    wide = answered(opinions={"drift_interval_ms_per_min": [4.0, 8.0]})
    assert sure_enough(wide, windows, (0.0, 600.0), 25.0) and not sure_enough(wide, windows, (0.0, 3600.0), 25.0)
    assert not sure_enough(answered(opinions={"drift_interval_ms_per_min": None}), windows, (0.0, 600.0), 25.0)
    # A splice between windows far apart is not yet placed; between neighbours it is.
    splice = [{"time_s": 300.0, "offset_before_ms": 120.0, "offset_after_ms": 320.0}]
    assert not sure_enough(answered(splices=splice), windows, (0.0, 600.0), 25.0)
    assert sure_enough(answered(splices=splice), [*windows, Window(290.0, 300.0)], (0.0, 600.0), 25.0)


def test_the_drift_is_pinned_down_about_the_middle_of_the_windows_read():
    # +-3.5 ms/min: a line through windows spread over 10 minutes turns about their middle, and moves either end
    # by 17.5 ms (under half a frame at 25 fps); through windows all near the start it moves the end by 34 ms.
    loose = answered(opinions={"drift_interval_ms_per_min": [2.5, 9.5]})
    spread = [Window(0.0, 10.0), Window(590.0, 600.0), Window(295.0, 305.0)]
    assert pivot_s(spread) == pytest.approx(300.0)
    assert sure_enough(loose, spread, (0.0, 600.0), 25.0)
    early = [Window(0.0, 10.0), Window(20.0, 30.0), Window(40.0, 50.0)]
    assert pivot_s(early) == pytest.approx(25.0)
    assert not sure_enough(loose, early, (0.0, 600.0), 25.0)
    # Windows of unequal length count by their length, as the offset counts every second of them.
    assert pivot_s([Window(0.0, 30.0), Window(90.0, 100.0)]) == pytest.approx((15.0 * 30 + 95.0 * 10) / 40)


def test_a_drift_left_unreported_while_its_interval_excludes_none_keeps_reading():
    windows = [Window(0.0, 10.0), Window(590.0, 600.0), Window(300.0, 310.0)]
    # The estimate said no drift (its halves disagreed) although every drift in its interval is +5 or more:
    # ten minutes of that is 50 ms at the end, more than a frame.
    declined = answered(drift_ms_per_min=0.0, opinions={"drift_interval_ms_per_min": [5.5, 6.5]})
    assert not sure_enough(declined, windows, (0.0, 600.0), 25.0)
    # An interval round zero is an answer of no drift.
    assert sure_enough(answered(drift_ms_per_min=0.0, opinions={"drift_interval_ms_per_min": [-0.5, 0.5]}),
                       windows, (0.0, 600.0), 25.0)
    # A 30 s part of the file needs its drift pinned down over 30 s only, though never more loosely than a
    # drift answer promises: +-15 ms/min moves the end of 45 s by only 11 ms, yet is not a drift measured.
    assert sure_enough(declined, windows, (300.0, 330.0), 25.0)
    loose = answered(drift_ms_per_min=0.0, opinions={"drift_interval_ms_per_min": [-15.0, 15.0]})
    assert not sure_enough(loose, windows, (300.0, 345.0), 25.0)
    # A part read whole is answered for, though too short to measure a drift on: the rest of the file would
    # not say more about it. Inconclusive, it is not.
    short = answered(opinions={"drift_interval_ms_per_min": None})
    assert sure_enough(short, [Window(20.0, 42.0)], (20.0, 42.0), 25.0)
    assert not sure_enough(short, [Window(20.0, 40.0)], (20.0, 42.0), 25.0)
    assert not sure_enough(SyncResult.inconclusive("short"), [Window(20.0, 42.0)], (20.0, 42.0), 25.0)


@pytest.fixture(scope="module")
def drifting_interview(corpus) -> tuple[float, FaceTrack, object]:
    """A 7 s interview looped to ten minutes, its audio 120 ms late and falling behind by 6 ms a minute."""
    path = corpus / "real" / "liveportrait__d20.mp4"
    info = probe(path)
    (face,) = track_faces_in_file(str(path), info.display_size, duration_s=info.duration_s,
                                  frame_count=info.frame_count)
    face, audio = looped(face, decode_audio(path), 86)
    moved = offset_audio(audio.samples, audio.rate, 120.0, 6.0, audio.samples.size)
    return info.fps_measured, face, replace_audio(audio, moved)


def test_a_long_clip_read_in_windows_reads_like_the_whole(drifting_interview):
    fps, face, audio = drifting_interview
    whole = estimate_sync(face, audio, fps=fps, settings=SETTINGS)
    duration_s = audio.duration_s
    plan = plan_windows(speech_per_second(audio, duration_s), duration_s)

    outcome = measure_progressively(
        plan, replayed_windows([face], audio, 5.0), lambda faces: estimate_excerpts(faces, fps=fps, settings=SETTINGS),
        span=(0.0, duration_s), fps=fps)
    result = outcome.result
    assert result.verdict == "drift" and whole.verdict == "drift"
    assert result.offset_ms == pytest.approx(whole.offset_ms, abs=1000 / fps)
    assert result.drift_ms_per_min == pytest.approx(6.0, abs=0.5)
    # It stopped long before the file was used up, and its windows span the file.
    assert 3 <= len(outcome.windows) < len(plan) / 3
    assert min(w.start_s for w in outcome.windows) < 20.0 and max(w.end_s for w in outcome.windows) > duration_s - 20
    read_s = sum(w.duration_s for w in outcome.windows)
    assert sum(e.face.time_s.size for e in outcome.excerpts) == pytest.approx(read_s * fps, abs=len(outcome.windows))


def test_gaps_are_the_stretches_no_window_covers_longest_first_in_windows():
    windows = [Window(10.0, 20.0), Window(20.0, 30.0), Window(33.0, 43.0)]
    # The longest stretch first, in windows of equal length no longer than WINDOW_S.
    assert gaps(windows, (0.0, 70.0)) == [Window(43.0, 52.0), Window(52.0, 61.0), Window(61.0, 70.0),
                                          Window(0.0, 10.0), Window(30.0, 33.0)]
    assert gaps(windows, (12.0, 28.0)) == []
    assert gaps([], (5.0, 12.0)) == [Window(5.0, 12.0)]


def test_windows_that_meet_join_into_the_excerpt_of_the_whole(drifting_interview):
    _, face, audio = drifting_interview
    read = replayed_windows([face], audio, 5.0)
    reads = [read(w) for w in (Window(30.0, 40.0), Window(0.0, 10.0), Window(10.0, 30.0), Window(50.0, 60.0))]
    (first_window, first), (_, second) = join_excerpts([(window, excerpts[0]) for window, excerpts in reads])
    assert first_window == Window(0.0, 40.0)
    whole = read(Window(0.0, 40.0))[1][0]
    np.testing.assert_array_equal(first.face.time_s, whole.face.time_s)
    np.testing.assert_array_equal(first.face.mouth, whole.face.mouth)
    np.testing.assert_array_equal(first.audio.samples, whole.audio.samples)
    assert first.audio.start_s == whole.audio.start_s
    assert second is reads[3][1][0]


def test_a_file_the_estimate_never_answers_for_is_read_to_its_end_as_one_excerpt(drifting_interview):
    fps, face, audio = drifting_interview
    span = (0.0, 95.0)
    plan = plan_windows(speech_per_second(audio, span[1]), span[1])
    estimated: list[int] = []

    def never_sure(faces):
        estimated.append(len(faces[0]))
        return SyncResult.inconclusive("too short"), 0

    outcome = measure_progressively(plan, replayed_windows([face], audio, 5.0), never_sure, span=span, fps=fps)
    assert len(outcome.windows) > len(plan) and gaps(outcome.windows, span) == []
    (excerpt,) = outcome.excerpts
    np.testing.assert_array_equal(excerpt.face.time_s, face.between(*span).time_s)
    assert estimated[-1] == 1


@pytest.fixture(scope="module")
def long_synth(tmp_path_factory) -> tuple[object, dict]:
    """A synthetic talking head of 70 s whose audio is 200 ms late, written as a file."""
    path = tmp_path_factory.mktemp("progressive") / "head.mp4"
    subprocess.run([sys.executable, "-m", "core.cli", "synth", str(path), "--offset-ms", "200",
                    "--duration", "70"], check=True, capture_output=True)
    return path, json.loads(path.with_name(path.name + ".truth.json").read_text())


def test_a_long_file_is_read_progressively_and_says_how_much_was_read(long_synth):
    path, truth = long_synth
    assert probe(path).duration_s >= PROGRESSIVE_MIN_S
    progressive = analyze_file(path)
    coverage = progressive.report.coverage
    assert coverage.mode == "progressive" and 0.0 < coverage.share < 1.0
    assert progressive.report.sync.offset_ms == pytest.approx(truth["offset_ms"], abs=40.0)
    # Windows start on key frames where that does not overlap, and every read frame lies in a window.
    times = progressive.face.time_s
    assert all(any(a - 1e-6 <= t < b + 1e-6 for a, b in coverage.windows) for t in times)
    assert progressive.report.to_dict()["coverage"]["used_s"] == pytest.approx(coverage.used_s, abs=1e-3)
    full = analyze_file(path, AnalysisOptions(full=True))
    assert full.report.coverage.mode == "full" and full.report.coverage.share == pytest.approx(1.0)
    assert full.report.sync.offset_ms == pytest.approx(progressive.report.sync.offset_ms, abs=40.0)


def test_short_files_are_read_whole(corpus):
    analysis = analyze_file(corpus / "real" / "liveportrait__d20.mp4")
    assert analysis.report.coverage.mode == "full"
    assert analysis.report.coverage.windows == [(0.0, pytest.approx(analysis.report.media.duration_s))]
