"""One correction rule: the report's fix, a corrected copy and the timeline all read SyncResult.correction."""

from __future__ import annotations

from dataclasses import asdict

import pytest

from core.correct import correction_from_sync
from core.model import SpliceInRange, SyncResult, SyncWindow
from core.report import fix_from_sync


def sync(verdict: str, offset: float | None, drift: float | None = 0.0, splices: list | None = None) -> SyncResult:
    return SyncResult(verdict, offset, None if offset is None else offset / 40.0, drift, 0.9,
                      splices=splices or [])


@pytest.mark.parametrize(("verdict", "offset", "drift", "expected"), [
    ("offset", 80.0, 12.0, (80.0, 0.0, True)),  # drift counts only when the estimator called it drifting
    ("drift", 80.0, 12.0, (80.0, 12.0, True)),
    ("in_sync", 25.0, 30.0, (25.0, 0.0, False)),  # within tolerance at both ends: nothing needed
])
def test_every_fix_reads_the_same_correction(verdict, offset, drift, expected):
    s = sync(verdict, offset, drift)
    c = s.correction()
    assert (c.offset_ms, c.drift_ms_per_min, c.needed) == expected
    assert correction_from_sync(s) == expected[:2]
    assert correction_from_sync({"verdict": verdict, "offset_ms": offset, "drift_ms_per_min": drift}) == expected[:2]
    fix = fix_from_sync(s, 25.0)
    if expected[2]:
        assert (fix.slip_ms, fix.speed_ratio) == (-offset, pytest.approx(1 + expected[1] / 60000))
    else:
        assert (fix.slip_ms, fix.slip_frames, fix.speed_ratio) == (0.0, 0.0, 1.0)


def test_inconclusive_has_no_correction():
    s = SyncResult("inconclusive", 120.0, 3.0, 0.0, 0.2, reason="too little speech")
    assert s.correction() is None and fix_from_sync(s, 25.0).slip_ms == 0.0


def test_offset_and_speed_follow_the_drift():
    c = sync("drift", 100.0, 60.0).correction()
    assert c.offset_at_ms(30) == pytest.approx(130.0) and c.speed_ratio == pytest.approx(1.001)


def test_each_stretch_of_a_spliced_clip_gets_its_own_offset():
    splices = [{"time_s": 20.0, "offset_before_ms": 30.0, "offset_after_ms": 190.0},
               {"time_s": 45.0, "offset_before_ms": 190.0, "offset_after_ms": -40.0}]
    s = SyncResult("offset", 100.0, 2.5, 0.0, 0.9, [SyncWindow(0.0, 5.0, 30.0, 0.9)], splices=splices)
    assert s.correction(2.0, 10.0).offset_ms == 30.0
    assert s.correction(20.0, 44.0).offset_ms == 190.0  # starting on the splice is after it
    assert s.correction(50.0, 60.0).offset_ms == -40.0
    assert all(s.correction(a, b).needed and s.correction(a, b).drift_ms_per_min == 0.0
               for a, b in ((2.0, 10.0), (50.0, 60.0)))
    assert s.correction().offset_ms == 100.0  # the whole clip keeps the clip's own figure
    with pytest.raises(SpliceInRange, match=r"across a splice at 20\.00 s.*\+30 to \+190 ms"):
        s.correction(15.0, 25.0)


def test_a_report_record_reads_back_and_gives_its_correction_stretch_by_stretch():
    splices = [{"time_s": 20.0, "offset_before_ms": 30.0, "offset_after_ms": 190.0}]
    s = SyncResult("drift", 100.0, 2.5, 60.0, 0.9, [SyncWindow(0.0, 5.0, 100.0, 0.9)], splices=[])
    assert SyncResult.from_dict(asdict(s)) == s
    assert [(a, b, c.offset_at_ms(b)) for a, b, c in s.stretches(0.0, 30.0)] == [(0.0, 30.0, 130.0)]
    spliced = SyncResult("offset", 100.0, 2.5, 0.0, 0.9, splices=splices)
    assert [(a, b, c.offset_ms) for a, b, c in spliced.stretches(0.0, 30.0)] == [(0.0, 20.0, 30.0),
                                                                              (20.0, 30.0, 190.0)]
    assert SyncResult.inconclusive("no face").stretches(0.0, 30.0) == []
    assert SyncResult.from_dict({"verdict": "offset", "offset_ms": 80.0}).correction().offset_ms == 80.0
