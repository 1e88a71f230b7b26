"""Small real media files for tests, encoded with PyAV, each with one injected defect.

The pictures and sound come from a corpus clip (decoded once), so the face detector and the level
measures see real faces and real speech; only the defect under test is synthetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from core.decode import decode_audio, iter_video_frames
from core.mux import audio_frame

VIDEO_TIME_BASE = Fraction(1, 90000)


@dataclass(frozen=True)
class Source:
    """Decoded pictures and sound of a clip: ``frames`` RGB uint8 at ``fps``, ``audio`` mono float32 at ``rate``."""

    frames: list[np.ndarray]
    fps: float
    audio: np.ndarray
    rate: int

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.frames[0].shape[:2]
        return width, height


def load_source(path: Path, seconds: float, start_s: float = 0.0, rate: int = 48000,
                max_side: int = 480) -> Source:
    """``seconds`` of a constant-frame-rate clip from ``start_s``, frames downscaled to at most ``max_side``."""
    frames = [f.image for f in iter_video_frames(path, max_side=max_side)
              if start_s - 1e-6 <= f.time_s < start_s + seconds - 1e-6]
    fps = len(frames) / seconds
    begin = round(start_s * rate)
    audio = decode_audio(path, rate).samples[begin:begin + round(seconds * rate)]
    return Source(frames, fps, audio, rate)


def write_clip(path: Path, frames: Sequence[np.ndarray] | None, times_s: Sequence[float] | None = None, *,
               fps: float = 25.0, audio: np.ndarray | None = None, rate: int = 48000,
               audio_start_s: float = 0.0, codec: str = "libx264", declared_fps: float | None = None,
               pix_fmt: str = "yuv420p", video_options: dict[str, str] | None = None, rotation: int = 0,
               audio_codec: str = "aac", layout: str | None = None, tags: dict[str, str] | None = None,
               container_format: str | None = None, container_options: dict[str, str] | None = None) -> Path:
    """Encode an MP4 (or whatever ``path``'s extension names) with H.264 video and AAC audio, or as told.

    Parameters
    ----------
    frames : sequence of (h, w, 3) uint8 RGB arrays, or None for an audio-only file.
    times_s : presentation time of each frame in seconds; ``i / fps`` when None.
    fps : the frame rate the encoder is told (the stream's declared rate unless ``declared_fps``).
    audio : mono float samples (full scale 1.0), or (channels, n) for several channels; None for no audio.
    rate : audio sample rate in Hz.
    audio_start_s : presentation time of the first audio sample.
    declared_fps : frame rate written into the video stream's header, when it should differ from ``fps``.
    codec, pix_fmt, video_options : the video encoder, its pixel format and its options.
    rotation : degrees a player is told to turn the pictures counter-clockwise (phones store portrait sideways).
    audio_codec, layout : the audio encoder and channel layout (default mono or stereo by the channel count).
    tags : container metadata (``timecode`` makes MOV and MXF muxers write a timecode track).
    container_format, container_options : the muxer, when the extension does not name it, and its options.
    """
    with av.open(str(path), "w", format=container_format, options=container_options or {}) as out:
        out.metadata.update(tags or {})
        video = audio_stream = None
        if frames is not None:
            height, width = frames[0].shape[:2]
            video = out.add_stream(codec, rate=Fraction(declared_fps or fps).limit_denominator(1001),
                                   options=video_options or {})
            video.width, video.height, video.pix_fmt = width, height, pix_fmt
            video.time_base = VIDEO_TIME_BASE
            video.codec_context.time_base = VIDEO_TIME_BASE
            if rotation:
                video.set_display_rotation(rotation)
        if audio is not None:
            planes = np.atleast_2d(np.asarray(audio, np.float32))
            layout = layout or ("mono" if planes.shape[0] == 1 else "stereo")
            audio_stream = out.add_stream(audio_codec, rate=rate, layout=layout)
        if video is not None:
            times = times_s if times_s is not None else [i / fps for i in range(len(frames))]
            for image, t in zip(frames, times, strict=True):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts = round(t / VIDEO_TIME_BASE)
                frame.time_base = VIDEO_TIME_BASE
                out.mux(video.encode(frame))
            out.mux(video.encode())
        if audio_stream is not None:
            start = round(audio_start_s * rate)
            block = 1024
            for offset in range(0, planes.shape[1], block):
                out.mux(audio_stream.encode(audio_frame(planes[:, offset:offset + block], layout, rate,
                                                        start + offset)))
            out.mux(audio_stream.encode())
    return path


def db_gain(samples: np.ndarray, db: float) -> np.ndarray:
    """``samples`` scaled by ``db`` decibels."""
    return (samples * 10 ** (db / 20.0)).astype(np.float32)


def with_noise(samples: np.ndarray, noise_dbfs: float, seed: int = 0) -> np.ndarray:
    """``samples`` plus white noise of RMS level ``noise_dbfs``."""
    noise = np.random.default_rng(seed).standard_normal(samples.size) * 10 ** (noise_dbfs / 20.0)
    return (samples + noise).astype(np.float32)


def with_silence(samples: np.ndarray, rate: int, at_s: float, length_s: float) -> np.ndarray:
    """``samples`` with ``length_s`` seconds of digital silence inserted at ``at_s``."""
    at = round(at_s * rate)
    return np.concatenate([samples[:at], np.zeros(round(length_s * rate), np.float32), samples[at:]])


def crop(image: np.ndarray, top: float, bottom: float) -> np.ndarray:
    """Zoom in on the rows between fractions ``top`` and ``bottom`` of the height (centred columns, same aspect)."""
    height, width = image.shape[:2]
    keep = bottom - top
    left = round((1.0 - keep) / 2 * width)
    part = image[round(top * height):round(bottom * height), left:left + round(keep * width)]
    return cv2.resize(part, (width, height), interpolation=cv2.INTER_AREA)


def shrink(image: np.ndarray, factor: float, canvas: tuple[int, int] | None = None) -> np.ndarray:
    """The picture scaled down by ``factor`` and centred on a grey canvas (``(width, height)``, default its own)."""
    height, width = image.shape[:2]
    cw, ch = canvas or (width, height)
    small = cv2.resize(image, (max(2, round(width * factor)), max(2, round(height * factor))),
                       interpolation=cv2.INTER_AREA)
    out = np.full((ch, cw, 3), 128, np.uint8)
    y, x = (ch - small.shape[0]) // 2, (cw - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small
    return out


def side_by_side(image: np.ndarray) -> np.ndarray:
    """Two copies of the picture next to each other at half width each (two faces, same frame size)."""
    height, width = image.shape[:2]
    half = cv2.resize(image, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    out = np.full_like(image, 128)
    y = (height - half.shape[0]) // 2
    out[y:y + half.shape[0], : half.shape[1]] = half
    out[y:y + half.shape[0], width - half.shape[1]:] = half
    return out


def blank(image: np.ndarray) -> np.ndarray:
    """A flat grey frame of the same size (no face)."""
    return np.full_like(image, 128)
