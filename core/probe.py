"""Stream facts of a media file: codecs, sizes, rates, start times and real frame timing.

Frame timing comes from the demuxed packet timestamps (no decoding), so a probe of a long
clip is fast and its memory is one timestamp per frame.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction

import av
import numpy as np

from core.errors import MediaError
from core.model import MediaInfo

__all__ = ["clip_start_s", "display_rotation", "frame_timing", "open_container", "probe", "quarter_turns"]

# A frame interval this much longer than the nominal one means frames are missing in between.
DROP_FACTOR = 1.5
# Intervals varying by more than this share of the nominal interval make the stream variable frame rate.
VFR_TOLERANCE = 0.10
# A file whose streams hold less than this share of the frames (or duration) its own index declares was cut off.
TRUNCATED_SHARE = 0.9
# Lossless codecs whose decoded sample format is the source's bit depth (lossy ones have none).
_LOSSLESS_BITS = {"s16": 16, "s32": 24, "u8": 8}


def open_container(path: str | os.PathLike[str]) -> av.container.InputContainer:
    """Open ``path`` for reading, turning every failure into a one-line :class:`MediaError`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MediaError(f"{path}: no such file")
    if os.path.isdir(path):
        raise MediaError(f"{path}: is a folder, not a media file")
    if os.path.getsize(path) == 0:
        raise MediaError(f"{path}: file is empty")
    try:
        return av.open(path, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"{path}: not a readable media file ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text.split(": '", 1)[0])


def clip_start_s(container: av.container.InputContainer) -> float:
    """The earliest start time of the audio and video streams: media time 0 of the clip."""
    starts = [
        float(s.start_time * s.time_base)
        for s in container.streams
        if s.type in ("audio", "video") and s.start_time is not None and s.time_base is not None
    ]
    return min(starts) if starts else 0.0


def frame_timing(pts_s: np.ndarray, nominal_fps: float | None) -> dict[str, float | int | bool]:
    """Measure frame rate, variability, drops and duplicates from presentation times.

    Parameters
    ----------
    pts_s : np.ndarray
        Presentation time of every frame, seconds, in any order.
    nominal_fps : float or None
        The declared rate, used as the reference interval; the measured one when None.

    Returns
    -------
    dict
        ``fps_measured`` (frames per second over the stream), ``vfr``, ``dropped_frames``
        (frames missing from gaps), ``duplicated_frames`` (timestamps repeated or closer than
        half an interval) and ``frame_interval_jitter_ms`` (standard deviation of intervals).
    """
    t = np.sort(np.asarray(pts_s, dtype=np.float64))
    if t.size < 2:
        return {"fps_measured": nominal_fps or 0.0, "vfr": False, "dropped_frames": 0,
                "duplicated_frames": 0, "frame_interval_jitter_ms": 0.0}
    dt = np.diff(t)
    span = t[-1] - t[0]
    fps_measured = (t.size - 1) / span if span > 0 else 0.0
    typical = float(np.median(dt[dt > 0])) if np.any(dt > 0) else 0.0
    nominal = 1.0 / nominal_fps if nominal_fps else typical
    duplicated = int(np.count_nonzero(dt < 0.5 * nominal)) if nominal > 0 else 0
    gaps = dt[dt > DROP_FACTOR * nominal] if nominal > 0 else dt[:0]
    dropped = int(np.sum(np.round(gaps / nominal) - 1)) if nominal > 0 else 0
    positive = dt[dt > 0]
    spread = np.percentile(positive, 95) - np.percentile(positive, 5) if positive.size else 0.0
    vfr = bool(nominal > 0 and spread > VFR_TOLERANCE * nominal)
    return {
        "fps_measured": float(fps_measured),
        "vfr": vfr,
        "dropped_frames": max(dropped, 0),
        "duplicated_frames": duplicated,
        "frame_interval_jitter_ms": float(np.std(dt) * 1000.0),
    }


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Read the stream facts of ``path``.

    Raises
    ------
    MediaError
        When the file is missing, empty, unreadable or has neither audio nor video.
    """
    path = os.fspath(path)
    with open_container(path) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if video is None and audio is None:
            raise MediaError(f"{path}: has no audio or video stream")
        origin = clip_start_s(container)
        fields: dict = {"path": path, "container": container.format.name,
                        "has_video": video is not None, "has_audio": audio is not None}
        pts: list[float] = []
        audio_end = 0.0
        streams = [s for s in (video, audio) if s is not None]
        try:
            for packet in container.demux(*streams):
                if packet.pts is None or packet.size == 0:
                    continue
                t = float(packet.pts * packet.time_base) - origin
                if packet.stream is video:
                    pts.append(t)
                else:
                    audio_end = max(audio_end, t + float((packet.duration or 0) * packet.time_base))
        except av.error.FFmpegError as exc:
            if not pts and audio_end == 0.0:
                raise MediaError(f"{path}: not a readable media file ({_short(exc)})") from None
        if video is not None:
            declared = _declared_fps(video)
            timing = frame_timing(np.array(pts), declared)
            fields.update(
                width=video.codec_context.width or None,
                height=video.codec_context.height or None,
                video_codec=video.codec_context.name,
                fps_declared=declared,
                frame_count=len(pts),
                video_start_s=_stream_start(video, origin, pts),
                rotation=display_rotation(path, video.index) if pts else 0,
                **timing,
            )
            if not pts:
                raise MediaError(f"{path}: the video stream has no frames")
        if audio is not None:
            ctx = audio.codec_context
            fields.update(
                audio_codec=ctx.name,
                sample_rate=ctx.sample_rate or None,
                channels=ctx.channels or None,
                bit_depth=_bit_depth(ctx),
                audio_start_s=_stream_start(audio, origin, []),
            )
        fields["duration_s"] = _duration(container, origin, pts, audio_end, video)
        _check_complete(path, container, video, len(pts), fields["duration_s"])
    return MediaInfo(**fields)


def _check_complete(path: str, container: av.container.InputContainer, video: av.stream.Stream | None,
                    video_packets: int, duration_s: float) -> None:
    """Raise when the streams end well before the file's own index says they should (a cut-off download or copy).

    MP4 and MOV index every packet up front, so a file cut after its index demuxes cleanly but short. Only
    video packets are compared with the index (an audio "frame" there can be a single PCM sample).
    """
    if video is not None and video.frames > 0 and video_packets < TRUNCATED_SHARE * video.frames:
        raise MediaError(f"{path}: file is truncated (video has {video_packets} of {video.frames} frames)")
    declared_s = float(container.duration or 0) / av.time_base
    if declared_s > 1.0 and duration_s < TRUNCATED_SHARE * declared_s:
        raise MediaError(f"{path}: file is truncated ({duration_s:.1f} s readable of {declared_s:.1f} s)")


def display_rotation(path: str | os.PathLike[str], index: int) -> int:
    """Degrees (0, 90, 180 or 270) a player turns stream ``index``'s pictures counter-clockwise to show them.

    Phones store portrait footage sideways with a display matrix saying how to turn it (ffprobe's
    "displaymatrix: rotation of 90.00 degrees"). PyAV exposes the matrix only on decoded frames, so this
    decodes the first one; an undecodable stream counts as unturned.
    """
    with open_container(path) as container:
        try:
            frame = next(container.decode(container.streams[index]), None)
        except av.error.FFmpegError:
            return 0
    return quarter_turns(frame) * 90 if frame is not None else 0


def quarter_turns(frame: av.VideoFrame) -> int:
    """How many quarter turns counter-clockwise (0-3) a player gives ``frame`` (``np.rot90``'s ``k``)."""
    return round((frame.rotation or 0) / 90.0) % 4


def _declared_fps(video: av.video.stream.VideoStream) -> float | None:
    # guessed_rate is ffprobe's r_frame_rate; base_rate is the field rate for some MPEG streams.
    rate: Fraction | None = video.guessed_rate or video.base_rate or video.average_rate
    return float(rate) if rate else None


def _stream_start(stream: av.stream.Stream, origin: float, pts: list[float]) -> float:
    if stream.start_time is not None and stream.time_base is not None:
        return round(float(stream.start_time * stream.time_base) - origin, 6)
    return round(min(pts), 6) if pts else 0.0


def _bit_depth(ctx: av.audio.codeccontext.AudioCodecContext) -> int | None:
    match = re.match(r"pcm_[suf](\d+)", ctx.name)
    if match:
        return int(match.group(1))
    if ctx.name in ("flac", "alac") and ctx.format is not None:
        return _LOSSLESS_BITS.get(ctx.format.name.rstrip("p"))
    return None


def _duration(container: av.container.InputContainer, origin: float, pts: list[float],
              audio_end: float, video: av.video.stream.VideoStream | None) -> float:
    video_end = 0.0
    if pts:
        ordered = sorted(pts)
        step = ordered[-1] - ordered[-2] if len(ordered) > 1 else 1.0 / (_declared_fps(video) or 25.0)
        video_end = ordered[-1] + step
    measured = max(video_end, audio_end)
    if measured > 0:
        return round(measured, 6)
    return round(float(container.duration or 0) / av.time_base, 6)
