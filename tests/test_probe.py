"""The probe against the ffprobe facts recorded in the corpus manifest, and on clips with known timing defects."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_manifest
from media_factory import write_clip

from core.decode import decode_audio, iter_video_frames
from core.probe import frame_timing, probe

REPO = Path(__file__).resolve().parent.parent
ENTRIES = corpus_manifest()
# Manifest codec names are ffprobe's; PyAV names the decoder (mp3 decodes as mp3float).
CODEC_ALIASES = {"mp3float": "mp3"}


def stream_facts(entry: dict) -> dict:
    """The manifest's ffprobe facts under one set of names.

    Entries added in December 2026 use another schema: ``fps_avg`` as a number, ``frame_count`` and
    ``video_duration_s`` / ``audio_duration_s`` in place of ``fps_avg_value``, ``frames_decoded`` and the
    ``*_stream_duration_s`` fields.
    """
    def first(*names: str) -> object:
        return next(entry[name] for name in names if entry.get(name) is not None)

    return {"fps_avg": float(Fraction(str(first("fps_avg_value", "fps_avg")))),
            "frames": first("frames_decoded", "frame_count"),
            "video_s": first("video_stream_duration_s", "video_duration_s"),
            "audio_s": first("audio_stream_duration_s", "audio_duration_s")}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_probe_matches_manifest(corpus, entry):
    facts = stream_facts(entry)
    info = probe(corpus / entry["file"])
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (entry["width"], entry["height"])
    assert info.video_codec == entry["video_codec"]
    assert CODEC_ALIASES.get(info.audio_codec, info.audio_codec) == entry["audio_codec"]
    assert info.sample_rate == entry["sample_rate"]
    assert info.channels == entry["channels"]
    assert info.fps_declared == pytest.approx(float(Fraction(entry["fps_declared"])), rel=1e-6)
    # ffprobe's avg_frame_rate divides by the container duration; ours spans first to last frame.
    assert info.fps_measured == pytest.approx(facts["fps_avg"], rel=0.02)
    assert info.frame_count == facts["frames"]
    assert info.video_start_s == pytest.approx(entry["video_start_s"], abs=1e-3)
    assert info.audio_start_s == pytest.approx(entry["audio_start_s"], abs=1e-3)
    longest_stream = max(entry["video_start_s"] + facts["video_s"], entry["audio_start_s"] + facts["audio_s"])
    assert info.duration_s == pytest.approx(longest_stream, abs=0.07)


def test_probe_of_irregular_clip(corpus):
    """videoretalking__1: 30/1 timebase, frames on a 22 fps average, drops, and video starting 33 ms late."""
    info = probe(corpus / "real" / "videoretalking__1.mp4")
    assert info.fps_declared == 30.0
    assert info.fps_measured == pytest.approx(22.1, abs=0.1)
    assert info.vfr
    # The manifest notes: 48 of the 134 frame gaps are 66.7 ms, one missing frame each; none repeated.
    assert (info.dropped_frames, info.duplicated_frames) == (48, 0)
    assert info.bit_depth is None  # AAC is lossy: its decoder's sample format says nothing about the source
    assert info.video_start_s == pytest.approx(0.033, abs=1e-3)
    assert info.audio_start_s == 0.0


def test_frame_timing_counts_drops_and_duplicates():
    t = np.arange(100) / 25.0
    clean = frame_timing(t, 25.0)
    assert clean == {"fps_measured": pytest.approx(25.0), "vfr": False, "dropped_frames": 0,
                     "duplicated_frames": 0, "frame_interval_jitter_ms": pytest.approx(0.0, abs=1e-9)}
    gappy = frame_timing(np.delete(t, [10, 11, 50]), 25.0)
    assert gappy["dropped_frames"] == 3
    doubled = frame_timing(np.sort(np.append(t, [t[20], t[30]])), 25.0)
    assert doubled["duplicated_frames"] == 2


def test_decoded_streams_follow_probe_times(corpus):
    path = corpus / "real" / "videoretalking__1.mp4"
    info = probe(path)
    first = next(iter_video_frames(path))
    assert first.time_s == pytest.approx(info.video_start_s, abs=1e-3)
    audio = decode_audio(path, 16000)
    assert audio.start_s == pytest.approx(info.audio_start_s, abs=1e-3)
    assert audio.source_rate == 44100 and audio.rate == 16000 and audio.channels == 2
    assert audio.duration_s == pytest.approx(6.107, abs=0.03)


def test_probe_of_generated_defects(tmp_path):
    frames = [np.full((64, 64, 3), 40 + i, np.uint8) for i in range(50)]
    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(96000) / 48000)).astype(np.float32)

    plain = probe(write_clip(tmp_path / "plain.mp4", frames, fps=25, audio=tone))
    assert (plain.fps_declared, plain.fps_measured, plain.vfr, plain.dropped_frames) == (25.0, 25.0, False, 0)

    declared = probe(write_clip(tmp_path / "declared.mkv", frames, fps=25, declared_fps=30, audio=tone))
    assert declared.fps_declared == 30.0 and declared.fps_measured == pytest.approx(25.0, abs=0.01)

    times = np.delete(np.arange(55) / 25.0, [10, 20, 30, 40, 45])
    dropped = probe(write_clip(tmp_path / "dropped.mp4", frames, times, audio=tone))
    assert dropped.dropped_frames == 5

    late = probe(write_clip(tmp_path / "late.mp4", frames, fps=25, audio=tone, audio_start_s=0.25))
    # AAC's 1024-sample encoder priming is cut from the front with an edit list: 21 ms earlier at 48 kHz.
    assert late.audio_start_s - late.video_start_s == pytest.approx(0.25 - 1024 / 48000, abs=2e-3)

    low = probe(write_clip(tmp_path / "low.mp4", frames, fps=25, audio=tone[:88200], rate=44100))
    assert low.sample_rate == 44100


def peak_traced_bytes(run) -> int:
    """Peak Python-heap bytes (numpy arrays included) allocated while ``run()`` executes."""
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def peak_rss_walking_frames(path) -> int:
    """Peak resident memory (bytes) of a fresh process that decodes every frame of ``path`` at full size.

    Measured in a child process because the frames' pixels are allocated by FFmpeg, which tracemalloc
    does not see.
    """
    code = ("import resource, sys\n"
            "from core.decode import iter_video_frames\n"
            "n = sum(1 for _ in iter_video_frames(sys.argv[1], max_side=None))\n"
            "scale = 1 if sys.platform == 'darwin' else 1024\n"  # ru_maxrss: bytes on macOS, kB on Linux
            "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=REPO,
                            timeout=120, check=True)
    _, peak = result.stdout.split()
    return int(peak)


def test_video_decoding_streams(tmp_path):
    """Frames come one at a time: a clip four times as long costs no more memory to walk through."""
    def clip(name, count):
        frames = [np.full((480, 640, 3), (7 * i) % 256, np.uint8) for i in range(count)]
        return write_clip(tmp_path / name, frames, fps=25)

    frame_bytes = 480 * 640 * 3
    short, long = clip("short.mp4", 40), clip("long.mp4", 160)
    growth = peak_rss_walking_frames(long) - peak_rss_walking_frames(short)
    # Holding the 120 extra frames would add 110 MB; streaming adds at most a few frames of decoder slack.
    assert growth < 10 * frame_bytes, growth / frame_bytes


def test_audio_decoding_keeps_only_the_output(tmp_path):
    """48 kHz stereo decoded to 16 kHz mono block by block: the peak is about the output (twice, while it is
    joined), far below the 6x larger decoded source that a whole-file decode would hold."""
    seconds, rate = 30, 48000
    t = np.arange(seconds * rate) / rate
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.3 * np.sin(2 * np.pi * 330 * t)]).astype(np.float32)
    path = write_clip(tmp_path / "voice.m4a", None, audio=stereo, rate=rate)
    result = {}
    peak = peak_traced_bytes(lambda: result.setdefault("audio", decode_audio(path, 16000)))
    audio = result["audio"]
    assert audio.channels == 2 and audio.duration_s == pytest.approx(seconds, abs=0.05)
    output = audio.samples.nbytes
    assert peak < 2.5 * output + 2_000_000, (peak, output)
    assert peak < 0.5 * stereo.nbytes
