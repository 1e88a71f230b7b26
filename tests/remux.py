"""Test inputs with a known audio defect: a corpus clip's video packets copied, its audio replaced by given samples.

Written with plain PyAV (not with the code under test), audio as 16-bit PCM so the test knows every
sample exactly.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def with_audio(source: Path, dest: Path, samples: np.ndarray, rate: int, *, layout: str = "stereo",
               audio_codec: str = "pcm_s16le", tags: dict[str, str] | None = None) -> Path:
    """Copy the first video stream of ``source`` into ``dest`` from time 0, with ``samples`` (channels, n) as audio."""
    with av.open(str(source)) as src, av.open(str(dest), "w") as out:
        out.metadata.update(tags or {})
        video_in = src.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        audio_out = out.add_stream(audio_codec, rate=rate, layout=layout)
        audio_out.metadata["language"] = "eng"
        start = None
        for packet in src.demux(video_in):
            if packet.size == 0:
                continue
            start = packet.pts if start is None else start
            packet.pts -= start
            packet.dts = packet.dts - start if packet.dts is not None else None
            packet.stream = video_out
            out.mux(packet)
        planes = np.ascontiguousarray(samples, dtype=np.float32)
        for offset in range(0, planes.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes[:, offset:offset + 1024]), format="fltp",
                                               layout=layout)
            frame.sample_rate = rate
            frame.pts = offset
            frame.time_base = Fraction(1, rate)
            out.mux(audio_out.encode(frame))
        out.mux(audio_out.encode(None))
    return dest


def delayed(samples: np.ndarray, count: int) -> np.ndarray:
    """``samples`` ((channels, n)) made ``count`` samples late (early when negative), same length, silence filled."""
    n = samples.shape[1]
    pad = np.zeros((samples.shape[0], abs(count)), np.float32)
    if count >= 0:
        return np.concatenate([pad, samples], axis=1)[:, :n]
    return np.concatenate([samples, pad], axis=1)[:, -count:]


def quantized(samples: np.ndarray) -> np.ndarray:
    """What 16-bit PCM keeps of float samples."""
    return np.round(np.clip(samples, -1.0, 32767 / 32768) * 32768).astype(np.float32) / 32768
