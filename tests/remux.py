"""Test inputs made from corpus clips by copying packets: a known audio defect (video packets copied, audio replaced
by given samples), or an excerpt.

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


def first_seconds(source: Path, dest: Path, seconds: float) -> Path:
    """The start of ``source`` up to the first video keyframe at or after ``seconds``, packets copied (nothing
    re-encoded), so the picture stays exactly the corpus clip's."""
    with av.open(str(source)) as src, av.open(str(dest), "w") as out:
        video_in, audio_in = src.streams.video[0], src.streams.audio[0]
        streams = {video_in.index: out.add_stream_from_template(video_in),
                   audio_in.index: out.add_stream_from_template(audio_in)}
        cut = None
        for packet in src.demux(video_in, audio_in):
            if packet.size == 0 or packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            if packet.stream.type == "video" and packet.is_keyframe and at >= seconds and cut is None:
                cut = at
            if cut is not None and at >= cut:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
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


def rotated_clip(path: Path, degrees: int, seconds: float = 1.0) -> Path:
    """A small H.264 + AAC clip whose video stream tells players to rotate it by ``degrees`` (as phones do)."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        video.set_display_rotation(degrees)
        audio = out.add_stream("aac", rate=48000, layout="mono")
        for i in range(round(25 * seconds)):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        noise = (rng.standard_normal((1, round(48000 * seconds))) * 0.1).astype(np.float32)
        for offset in range(0, noise.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(noise[:, offset:offset + 1024]), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, offset, Fraction(1, 48000)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def display_rotation(path: Path) -> int:
    """The rotation a player applies to ``path``'s pictures, degrees."""
    with av.open(str(path)) as c:
        return int(next(c.decode(c.streams.video[0])).rotation)
