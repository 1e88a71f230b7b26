"""Decoding what cameras and mixers really write: many channels (the analysis hears their mean), pictures stored
sideways (turned as a player shows them), and huge pictures (decoder memory bounded)."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soxr
from media_factory import load_source, write_clip

from core import decode
from core import diagnose as dg
from core.analyze import analyze_file
from core.decode import decode_audio, decode_audio_channels, decode_threads, iter_video_frames, spool_audio
from core.errors import MediaError
from core.probe import probe
from core.synth import synthesize

REPO = Path(__file__).resolve().parent.parent


def stems(count: int, rate: int, seconds: float = 1.0) -> np.ndarray:
    """``count`` channels, each a tone of its own pitch and level."""
    t = np.arange(round(rate * seconds)) / rate
    return np.stack([(0.05 + 0.05 * k) * np.sin(2 * np.pi * (200 + 50 * k) * t) for k in range(count)]).astype(
        np.float32)


def test_eight_channels_at_96_khz_24_bit_decode_and_mix_to_their_mean(tmp_path):
    # This crashed the interpreter (exit 139): PyAV walked a planar 8-channel frame's plane pointers off their
    # array. In a child process, so a regression fails this test instead of ending the whole run.
    clip = write_clip(tmp_path / "8ch.mov", [np.zeros((48, 64, 3), np.uint8)] * 25, audio=stems(8, 96000),
                      rate=96000, audio_codec="pcm_s24le", layout="7.1")
    check = ("import sys, numpy as np\n"
             "from core.decode import decode_audio, decode_audio_channels\n"
             "channels = decode_audio_channels(sys.argv[1])\n"
             "mono = decode_audio(sys.argv[1], None)\n"
             "assert channels.samples.shape == (8, 96000) and channels.layout == '7.1', channels.samples.shape\n"
             "assert np.allclose(mono.samples, channels.samples.mean(axis=0), atol=1e-6)\n")
    result = subprocess.run([sys.executable, "-c", check, str(clip)], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert np.allclose(decode_audio_channels(clip).samples, stems(8, 96000), atol=2**-22)
    info = probe(clip)
    assert (info.channels, info.sample_rate, info.bit_depth) == (8, 96000, 24)


@pytest.mark.parametrize("count", [6, 8, 12])
def test_a_fixed_copy_keeps_every_channel(tmp_path, count):
    from core.correct import write_corrected_media

    source = write_clip(tmp_path / "in.mkv", [np.zeros((48, 64, 3), np.uint8)] * 25, audio=stems(count, 48000),
                        audio_codec="pcm_s24le", layout={6: "5.1", 8: "7.1", 12: "12c"}[count])
    out = write_corrected_media(source, tmp_path / "out.mkv", offset_ms=10.0)
    assert out.applied_slip_samples == -480
    fixed = decode_audio_channels(tmp_path / "out.mkv").samples
    assert fixed.shape == (count, 48000)
    assert np.allclose(fixed[:, :-480], stems(count, 48000)[:, 480:], atol=2**-22)


def corner_picture() -> np.ndarray:
    """A dark picture with a bright top-left corner block and a dim bottom edge: every turn looks different."""
    image = np.full((48, 64, 3), 20, np.uint8)
    image[:12, :12] = 235
    image[-6:, :] = 120
    return image


def shown_by_ffmpeg(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The first picture as the ffmpeg player stack shows it (it turns pictures by their display matrix)."""
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    width, height = size
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_frames_are_turned_as_a_player_shows_them(tmp_path, rotation):
    clip = write_clip(tmp_path / "phone.mp4", [corner_picture()] * 5, fps=25, rotation=rotation,
                      pix_fmt="yuv444p", video_options={"qp": "0"}, audio=np.zeros(4800, np.float32))
    info = probe(clip)
    assert (info.width, info.height, info.rotation) == (64, 48, rotation)
    assert info.display_size == ((48, 64) if rotation in (90, 270) else (64, 48))
    ours = next(iter_video_frames(clip, max_side=None)).image
    player = shown_by_ffmpeg(clip, info.display_size)
    assert ours.shape == player.shape
    assert np.abs(ours.astype(int) - player).mean() < 3


def test_huge_pictures_get_fewer_decoder_threads():
    assert decode_threads(1920, 1080, cores=32) == 32  # HD: one per core
    assert decode_threads(7680, 4320, cores=32) == 3  # 8K: three pictures' worth fit the budget
    assert decode_threads(15360, 8640, cores=32) == 1  # never none
    assert decode_threads(640, 480, cores=2) == 2


def test_an_unturned_clip_reports_rotation_zero(tmp_path):
    clip = write_clip(tmp_path / "plain.mp4", [corner_picture()] * 5, audio=np.zeros(4800, np.float32))
    assert probe(clip).rotation == 0 and probe(clip).report_fields()["rotation"] == 0


@pytest.mark.parametrize("turns", [1, 3])
def test_sideways_phone_footage_is_measured_upright_and_says_so(tmp_path, turns):
    # Before: the face was read sideways (FACE_NOT_FRONTAL for the whole clip, or no face at all).
    talking = tmp_path / "talking.mp4"
    synthesize(talking, duration_s=4.0, seed=5)
    source = load_source(talking, 4.0, max_side=320)
    stored = [np.ascontiguousarray(np.rot90(image, -turns)) for image in source.frames]  # as the phone stores it
    phone = write_clip(tmp_path / "phone.mp4", stored, fps=source.fps, audio=source.audio, rate=source.rate,
                       rotation=90 * turns)
    analysis = analyze_file(phone)
    report = analysis.report.to_dict()
    assert report["media"]["rotation"] == 90 * turns
    assert (report["media"]["width"], report["media"]["height"]) == (240, 320)  # as stored
    codes = {d["code"] for d in report["diagnostics"]}
    assert not codes & {"FACE_NOT_FRONTAL", "FACE_NONE"}, codes
    face = analysis.face
    assert (face.frame_width, face.frame_height) == (320, 240)  # measured in the upright picture
    found = face.box[face.found]
    assert found.size and np.all((found > -0.1) & (found < 1.1))
    assert report["sync"]["verdict"] == "in_sync"


def speech_like(rate: int, seconds: float) -> np.ndarray:
    """Tone bursts a third of a second long with pauses between them, at a varying level."""
    t = np.arange(round(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0) * (0.5 + 0.5 * np.cos(t))
            ).astype(np.float32)


def test_spooled_audio_reads_back_sample_for_sample_what_decoding_holds(tmp_path):
    # 44.1 kHz stereo AAC starting late, so the reads go through the resampler, the downmix and the start time.
    sound = speech_like(44100, 12.0)
    clip = write_clip(tmp_path / "late.mp4", [np.zeros((48, 64, 3), np.uint8)] * 250, fps=25.0,
                      audio=np.stack([sound, 0.5 * sound]), rate=44100, audio_start_s=0.5)
    held = decode_audio(clip, 16000)
    with spool_audio(clip, 16000) as spooled:
        assert (spooled.rate, spooled.start_s, spooled.source_rate, spooled.channels, spooled.peak_dbfs) == (
            held.rate, held.start_s, held.source_rate, held.channels, held.peak_dbfs)
        assert spooled.start_s == pytest.approx(0.5, abs=0.03) and spooled.duration_s == held.duration_s
        np.testing.assert_array_equal(spooled.levels_dbfs, held.levels_dbfs)
        np.testing.assert_array_equal(spooled.whole().samples, held.samples)
        for start_s, end_s in [(3.2, 7.9), (-1.0, 2.0), (11.0, 40.0), (5.0, 5.0)]:
            part, expected = spooled.between(start_s, end_s), held.between(start_s, end_s)
            np.testing.assert_array_equal(part.samples, expected.samples)
            assert part.start_s == expected.start_s
        # Samples counted from the first one, clipped to what there is, as slicing the held samples gives them.
        for first, last in [(51200, 126400), (-300, 32000), (held.size - 10, held.size + 500), (900, 800)]:
            np.testing.assert_array_equal(spooled.read(first, last), held.read(first, last))
            np.testing.assert_array_equal(held.read(first, last), held.samples[max(first, 0):max(last, first, 0)])
        for check in (dg.check_noise_floor, dg.check_long_silence, dg.check_leading_silence, dg.check_peak_level):
            assert check(spooled) == check(held)
        assert dg.check_sample_rate(probe(clip), spooled, 48000) == dg.check_sample_rate(probe(clip), held, 48000)


def test_spooled_audio_holds_a_second_of_samples_however_long_the_file(tmp_path):
    rate = 16000
    sound = speech_like(rate, 600.0)  # ten minutes: 38 MB as float32
    clip = write_clip(tmp_path / "ten-minutes.wav", None, audio=sound, rate=rate, audio_codec="pcm_s16le")
    tracemalloc.start()
    try:
        with spool_audio(clip, rate) as spooled:
            _, spooled_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            part = spooled.between(300.0, 310.0)
            _, part_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        held = decode_audio(clip, rate)
        _, held_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held_peak > 38e6  # the measure sees whole-file audio where it is held ...
    assert spooled_peak < 2e6  # ... and not where it is spooled: a second or so of samples and the levels
    assert part_peak < 1e6
    np.testing.assert_array_equal(part.samples, held.between(300.0, 310.0).samples)


def test_a_full_temporary_folder_is_one_clear_error(tmp_path, monkeypatch):
    clip = write_clip(tmp_path / "short.wav", None, audio=speech_like(16000, 2.0), rate=16000,
                      audio_codec="pcm_s16le")

    class FullDisk(io.BytesIO):
        def write(self, data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    files: list[FullDisk] = []
    monkeypatch.setattr(decode.tempfile, "TemporaryFile", lambda **_: files.append(FullDisk()) or files[-1])
    with pytest.raises(MediaError, match=r"could not be kept in the temporary folder .*No space left"):
        spool_audio(clip)
    assert files[0].closed


def test_spooled_channels_are_only_the_ones_asked_for(tmp_path):
    clip = write_clip(tmp_path / "poly.wav", None, audio=stems(4, 48000, 2.0), rate=48000, audio_codec="pcm_s24le",
                      layout="4.0")
    alone = write_clip(tmp_path / "third.wav", None, audio=stems(4, 48000, 2.0)[2], rate=48000,
                       audio_codec="pcm_s24le")
    with spool_audio(clip, 16000, channels=(2,)) as third, spool_audio(alone, 16000) as expected:
        assert third.channels == 1 and third.peak_dbfs == expected.peak_dbfs
        np.testing.assert_array_equal(third.whole().samples, expected.whole().samples)
    with spool_audio(clip, 16000, channels=(0, 3)) as pair:
        mixed = soxr.resample((stems(4, 48000, 2.0)[0] + stems(4, 48000, 2.0)[3]) / 2, 48000, 16000)
        middle = slice(1000, -1000)  # away from the resamplers' edges
        np.testing.assert_allclose(pair.whole().samples[middle], mixed[middle], atol=1e-3)
    with pytest.raises(MediaError, match=r"has 4 audio channel.*channel 5 is not there"):
        spool_audio(clip, 16000, channels=(4,))
