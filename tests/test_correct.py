"""The correction library: sample-exact slip, de-drift by the exact ratio, and corrected copies that decode aligned."""

from __future__ import annotations

import hashlib
import tracemalloc
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest
from media_factory import write_clip
from remux import delayed, display_rotation, quantized, rotated_clip, with_audio

from core.compare import gcc_phat
from core.correct import (
    AudioCorrector,
    correct_audio,
    correction_from_sync,
    offset_at_video_start,
    speed_ratio,
    write_corrected_audio_file,
    write_corrected_media,
)
from core.decode import decode_audio, decode_audio_channels
from core.errors import MediaError
from core.model import SyncResult
from core.probe import probe


def test_a_slip_pads_and_trims_keeping_length():
    x = np.arange(1, 7, dtype=np.float32)
    # At 1 kHz a millisecond is a sample: audio early by 2 ms is moved 2 samples later, and so on.
    assert correct_audio(x, 1000, -2.0).tolist() == [0, 0, 1, 2, 3, 4]
    assert correct_audio(x, 1000, 2.0).tolist() == [3, 4, 5, 6, 0, 0]
    assert correct_audio(x, 1000, -9.0).tolist() == [0] * 6
    stereo = np.stack([x, -x])
    assert correct_audio(stereo, 1000, 1.0)[1].tolist() == [-2, -3, -4, -5, -6, 0]


@pytest.mark.parametrize(("offset_ms", "drift_ms_per_min"), [
    (0.0, 0.0), (12.3, 0.0), (-57.0, 0.0), (4000.0, 0.0), (-4000.0, 0.0),
    (12.3, 30.0), (-57.0, -600.0), (4000.0, 90.0), (-4000.0, -90.0),
])
def test_audio_corrected_block_by_block_is_the_audio_corrected_whole(offset_ms, drift_ms_per_min):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 48000 * 3)).astype(np.float32)
    corrector = AudioCorrector(48000, 2, offset_ms, drift_ms_per_min)
    parts = [corrector.add(block) for block in np.split(x, np.sort(rng.integers(0, x.shape[1], 30)), axis=1)]
    # Never more out than in so far: what a block gives can be written at once.
    assert all(sum(p.shape[1] for p in parts[:k + 1]) <= x.shape[1] for k in range(len(parts)))
    streamed = np.concatenate([*parts, corrector.finish()], axis=1)
    np.testing.assert_array_equal(streamed, correct_audio(x, 48000, offset_ms, drift_ms_per_min))


def test_offset_is_applied_to_the_sample_not_the_frame():
    rate = 48000
    x = np.random.default_rng(0).standard_normal(rate).astype(np.float32)
    # 10.02 ms late = 481 samples (not a 40 ms frame): moved earlier by exactly that.
    y = correct_audio(x, rate, 10.02, 0.0)
    assert y.shape == x.shape
    np.testing.assert_array_equal(y[: rate - 481], x[481:])
    assert not y[rate - 481:].any()
    early = correct_audio(x, rate, -5.0, 0.0)  # audio early: delayed by 240 samples
    np.testing.assert_array_equal(early[240:], x[: rate - 240])


def band_limited_signal(seed: int):
    """40 sines (100 Hz to 3 kHz), known in closed form at any time, so resampled copies can be checked exactly."""
    rng = np.random.default_rng(seed)
    freqs, phases = rng.uniform(100, 3000, 40), rng.uniform(0, 2 * np.pi, 40)
    return lambda t: np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None]).sum(axis=0) / 40


def test_drift_correction_makes_the_offset_constant():
    # A band-limited signal known in closed form, recorded with the audio late by 30 ms at the start and
    # falling behind by 90 ms per minute: sound for video time t sits at s*t + 0.03, s = 1 + 90/60000.
    rate, seconds = 16000, 40.0
    truth = band_limited_signal(seed=1)
    k = np.arange(round(seconds * rate)) / rate
    s = speed_ratio(90.0)
    recorded = truth((k - 0.030) / s).astype(np.float32)
    corrected = correct_audio(recorded, rate, 30.0, 90.0)
    usable = slice(rate, round((seconds - 2) * rate))  # the end is silence: the sped-up audio ran out
    error = corrected[usable] - truth(k[usable])
    assert np.sqrt(np.mean(error**2)) < 1e-3 * np.sqrt(np.mean(truth(k[usable]) ** 2)) + 1e-4
    for start in (2.0, 18.0, 34.0):  # offset measured along the clip: zero everywhere
        a = slice(round(start * rate), round((start + 2) * rate))
        lag, _ = gcc_phat(truth(k[a]), corrected[a], 400)
        assert abs(lag) < 0.05


def test_early_drifting_audio_keeps_its_last_samples():
    # Audio 30 ms early and falling behind by 90 ms/min: sound for video time t sits at s*t - 0.030. Sped up, the
    # corrected copy reaches the source's last sample at (40 + 0.030) / s = 39.970 s; until then it is sound, not
    # the silence a slip within the clip's length left there (it cut the last 30 ms before resampling).
    rate, seconds = 16000, 40.0
    truth = band_limited_signal(seed=2)
    k = np.arange(round(seconds * rate)) / rate
    s = speed_ratio(90.0)
    corrected = correct_audio(truth((k + 0.030) / s).astype(np.float32), rate, -30.0, 90.0)
    tail = slice(round(39.945 * rate), round(39.960 * rate))  # after 40 / s = 39.940 s, before the source ends
    error = corrected[tail] - truth(k[tail])
    assert np.sqrt(np.mean(error**2)) < 1e-4
    assert not corrected[round(39.975 * rate):].any()  # past the source's end: silence


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        correct_audio(np.zeros(10), 48000, float("nan"))
    with pytest.raises(ValueError):
        correct_audio(np.zeros(10), 48000, 0.0, 10000.0)
    with pytest.raises(ValueError):
        correct_audio(np.zeros(0), 48000, 0.0)


def test_correction_from_sync_follows_the_verdict():
    assert correction_from_sync(SyncResult("offset", 80.0, 2.0, 12.0, 0.9)) == (80.0, 0.0)
    assert correction_from_sync(SyncResult("drift", 80.0, 2.0, 12.0, 0.9)) == (80.0, 12.0)
    assert correction_from_sync({"verdict": "offset", "offset_ms": -40.0, "drift_ms_per_min": None}) == (-40.0, 0.0)
    with pytest.raises(MediaError):
        correction_from_sync(SyncResult.inconclusive("no face"))


def test_offset_at_video_start_folds_in_the_stream_gap_and_drift():
    # Video 33 ms after the audio: the first 33 ms of audio precede the first picture.
    assert offset_at_video_start(0.0, 0.0, 0.0, 0.033) == pytest.approx(33.0)
    assert offset_at_video_start(10.0, 60.0, 0.0, 1.0) == pytest.approx(10.0 + 1.0 + 1000.0)


def _video_packet_digest(path) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    with av.open(str(path)) as c:
        for packet in c.demux(c.streams.video[0]):
            if packet.size:
                digest.update(bytes(packet))
                count += 1
    return count, digest.hexdigest()


def top_level_boxes(path) -> list[str]:
    """The types of an MP4/MOV file's top-level boxes, in file order."""
    data, boxes, at = Path(path).read_bytes(), [], 0
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8].decode("latin-1")
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(data[at + 8:at + 16], "big")
        boxes.append(kind)
        at += size if size else len(data)
    return boxes


@pytest.mark.parametrize("ext", [".mp4", ".mov", ".mkv"])
def test_corrected_copy_decodes_aligned_to_the_sample(corpus, tmp_path, ext):
    source = corpus / "real" / "aniportrait__pose_ref_video.mp4"
    original = decode_audio_channels(source)
    late = 3001  # samples at 48 kHz: 62.52 ms, not a whole frame
    test_input = with_audio(source, tmp_path / "late.mkv", delayed(original.samples, late), original.rate,
                            tags={"title": "known defect"})
    out = tmp_path / f"fixed{ext}"
    written = write_corrected_media(test_input, out, late / original.rate * 1000.0)
    assert written.applied_slip_samples == -late and written.video_copied
    assert written.audio_codec == ("pcm_s16le" if ext in (".mov", ".mkv") else "aac")
    info = probe(out)
    # Both streams start at 0 (B-frame delay and AAC priming live in edit lists, not in shifted timestamps), and
    # the index comes first so that players and editors reading over a network need not seek to the end.
    assert info.video_start_s == 0.0 and info.audio_start_s == 0.0
    if ext != ".mkv":
        boxes = top_level_boxes(out)
        assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert _video_packet_digest(out) == _video_packet_digest(test_input)  # pictures copied, not re-encoded
    fixed = decode_audio(out, None)
    reference = quantized(original.samples).mean(axis=0)
    lag, _ = gcc_phat(reference, fixed.samples, 5000)
    assert abs(lag) < 0.05, f"decoded audio is {lag:.3f} samples off"  # includes the AAC encoder delay
    if written.audio_codec.startswith("pcm"):
        n = original.samples.shape[1] - late
        np.testing.assert_allclose(fixed.samples[:n], reference[:n], atol=1e-6)
    with av.open(str(out)) as c:
        assert c.metadata.get("title") == "known defect"
        assert c.streams.audio[0].metadata.get("language") == "eng"


def _frame_times(path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.pts * f.time_base) for f in c.decode(c.streams.video[0])]


def test_guessed_decode_times_are_made_increasing(corpus, tmp_path):
    # MPEG-1 video with B-frames in Matroska: the demuxer guesses the decode times and gives the second and third
    # packets the same one, which the MP4 muxer refuses. The copy nudges it a tick; the pictures and when they
    # are shown stay the same.
    source = corpus / "real" / "lipnet__lwbsza.mpg"
    original = decode_audio_channels(source)
    test_input = with_audio(source, tmp_path / "grid.mkv", original.samples, original.rate)
    with av.open(str(test_input)) as c:
        dts = [p.dts for p in c.demux(c.streams.video[0]) if p.size]
    assert any(b <= a for a, b in pairwise(dts))  # the defect is there to be handled
    out = tmp_path / "fixed.mp4"
    assert write_corrected_media(test_input, out, 10.0).video_copied
    assert _video_packet_digest(out) == _video_packet_digest(test_input)
    assert _frame_times(out) == pytest.approx(_frame_times(test_input), abs=1e-6)


def test_stream_start_gap_is_kept_in_sync(corpus, tmp_path):
    # videoretalking__1's video starts 33 ms after its audio; the copy starts both at 0 without moving sound.
    source = corpus / "real" / "videoretalking__1.mp4"
    out = write_corrected_media(source, tmp_path / "fixed.mp4", 0.0).path
    assert probe(out).video_start_s == 0.0 and probe(out).audio_start_s == 0.0
    before, after = decode_audio(source, None), decode_audio(out, None)
    lag, _ = gcc_phat(before.samples, after.samples, 5000)
    gap = probe(source).video_start_s - before.start_s
    assert lag == pytest.approx(-gap * before.rate, abs=0.6)  # nearest sample of 33.008 ms


def test_corrected_audio_file_for_the_plugin(corpus, tmp_path):
    source = corpus / "real" / "lipnet__bbaf2n.mpg"
    out = tmp_path / "conform.wav"
    write_corrected_audio_file(source, out, -20.0, 0.0)
    info = probe(out)
    assert not info.has_video and info.audio_codec == "pcm_s24le" and info.channels == 2
    lag, _ = gcc_phat(decode_audio(source, None).samples, decode_audio(out, None).samples, 5000)
    assert lag == pytest.approx(0.020 * 44100, abs=0.05)
    with pytest.raises(MediaError):
        write_corrected_audio_file(source, tmp_path / "x.mp4", 0.0)


def test_a_long_recording_is_corrected_in_the_memory_of_a_second(tmp_path):
    rate = 48000
    t = np.arange(rate * 180) / rate  # three minutes: 35 MB as float32, twice that held whole and corrected
    sound = (0.2 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)).astype(np.float32)
    source = write_clip(tmp_path / "recorder.wav", None, audio=sound, rate=rate, audio_codec="pcm_s24le")
    out = tmp_path / "corrected.wav"
    tracemalloc.start()
    try:
        written = write_corrected_audio_file(source, out, 25.0, 12.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4e6
    expected = correct_audio(decode_audio_channels(source).samples, rate, 25.0, 12.0)
    np.testing.assert_allclose(decode_audio_channels(out).samples, expected, atol=2**-22)
    assert written.applied_slip_samples == -1200


def test_bad_inputs_are_media_errors(tmp_path, corpus):
    junk = tmp_path / "junk.mp4"
    junk.write_text("not media")
    with pytest.raises(MediaError):
        write_corrected_media(junk, tmp_path / "out.mp4", 10.0)
    with pytest.raises(MediaError):
        write_corrected_media(corpus / "real" / "lipnet__bbaf2n.mpg", tmp_path / "out.avi", 10.0)
    assert not list(tmp_path.glob("*out*"))


def test_rotation_is_kept(tmp_path):
    clip = rotated_clip(tmp_path / "phone.mp4", -90)
    write_corrected_media(clip, tmp_path / "fixed.mp4", 25.0)
    assert display_rotation(tmp_path / "fixed.mp4") == display_rotation(clip) == -90
