"""Face tracking: the mouth measures, decoding by time span, and parallel tracking of long clips."""

from __future__ import annotations

import numpy as np
import pytest

from core.decode import iter_video_frames
from core.face import MOUTH_SHAPE, mouth_shape, track_face_in_file
from core.probe import probe


def test_mouth_measures_scale_with_the_eye_distance():
    rng = np.random.default_rng(3)
    points = rng.uniform(100, 300, (468, 2)).astype(np.float32)
    small, eye = mouth_shape(points)
    large, eye2 = mouth_shape(points * 2.5)
    assert eye2 == pytest.approx(2.5 * eye, rel=1e-5)
    assert np.allclose(small, large, rtol=1e-4)  # dimensionless: the same face twice as large measures the same
    assert small.shape == (len(MOUTH_SHAPE),)


def test_spans_partition_the_frames_of_a_variable_rate_clip(corpus):
    path = corpus / "real" / "videoretalking__1.mp4"  # VFR with dropped frames and a late video start
    everything = [f.time_s for f in iter_video_frames(path, max_side=64)]
    first = [f.time_s for f in iter_video_frames(path, max_side=64, end_s=3.0)]
    rest = [f.time_s for f in iter_video_frames(path, max_side=64, start_s=3.0)]
    assert first + rest == everything
    assert max(first) < 3.0 <= min(rest)


def test_parallel_tracking_matches_one_process(corpus):
    path = str(corpus / "real" / "latentsync__demo2_video.mp4")
    info = probe(path)
    kwargs = {"duration_s": info.duration_s, "frame_count": info.frame_count}
    done = []
    one = track_face_in_file(path, (info.width, info.height), workers=1, **kwargs)
    two = track_face_in_file(path, (info.width, info.height), workers=2,
                             progress=lambda share, stage: done.append(share), **kwargs)
    assert np.array_equal(one.time_s, two.time_s)
    assert two.found.mean() == one.found.mean() == 1.0
    # columns differ in scale (landmark ratios against DCT amplitudes), so compare each against its own spread
    close = np.all(np.abs(one.mouth - two.mouth) < 0.1 * one.mouth.std(axis=0), axis=1)
    assert close.mean() > 0.95  # only frames near the split, where tracking restarts, may differ
    assert done and max(done) > 0.8  # progress came back from the worker processes
