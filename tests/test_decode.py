"""Decoding what cameras and mixers really write: many channels (the analysis hears their mean)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from media_factory import write_clip

from core.decode import decode_audio_channels
from core.probe import probe

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
