"""Conforming video to a constant frame rate: for files whose declared rate lies and for VFR phone footage.

The pictures are re-timed onto a constant grid starting at the clip's time 0: each grid slot shows
the source frame whose presentation time is nearest (frames repeat to fill gaps, extra ones are
dropped). The audio packets are copied untouched with their timestamps, so sound stays exactly
where it was relative to the pictures' real times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.errors import MediaError
from core.fileio import output_file, refuse_overwriting_input
from core.framerate import nearest_standard_fps
from core.mux import copyable_tags, encoded, moved_packets, mux_interleaved, output_container
from core.probe import _short, clip_start_s, open_container, probe
from core.progress import ProgressFn, no_progress

__all__ = ["MAX_FPS", "ConformResult", "conform_fps", "grid_picks"]

# The highest rate pictures are re-timed to.
MAX_FPS = 240

# Container extension -> video encoder for the re-timed pictures.
VIDEO_ENCODER = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264"}
# Visually lossless for talking heads; the picture is re-encoded once.
X264_OPTIONS = {"crf": "18", "preset": "fast"}


def grid_picks(frame_times_s: np.ndarray, fps: float, end_s: float) -> np.ndarray:
    """For each slot ``k / fps`` before ``end_s``, the index of the frame presented nearest to it (ties: earlier).

    ``frame_times_s`` must be increasing. This is the rule :func:`conform_fps` streams.
    """
    t = np.asarray(frame_times_s, dtype=np.float64)
    slots = np.arange(int(np.ceil(end_s * fps - 1e-9))) / fps
    after = np.clip(np.searchsorted(t, slots, side="left"), 0, t.size - 1)
    before = np.clip(after - 1, 0, t.size - 1)
    # A microsecond of slack so that float rounding does not break exact ties the wrong way.
    return np.where(np.abs(slots - t[before]) <= np.abs(t[after] - slots) + 1e-6, before, after)


@dataclass(frozen=True)
class ConformResult:
    """What ``conform-fps`` did."""

    input: str
    output: str
    fps: float
    fps_text: str
    source_fps_declared: float | None
    source_fps_measured: float | None
    source_vfr: bool
    source_frames: int
    output_frames: int
    repeated_frames: int
    dropped_frames: int
    audio_copied: bool

    def to_dict(self) -> dict:
        return {"schema": "lipalign.conform-fps/1", **asdict(self)}


def conform_fps(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str],
                fps: Fraction | None = None, progress: ProgressFn = no_progress) -> ConformResult:
    """Write ``input_path`` re-timed to a constant ``fps`` (default: the standard rate nearest the measured one).

    Raises
    ------
    MediaError
        Unreadable input, no video, or an output container that is not .mp4, .m4v, .mov or .mkv.
    """
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    refuse_overwriting_input(output_path, input_path)
    ext = Path(output_path).suffix.lower()
    if ext not in VIDEO_ENCODER:
        raise MediaError(f"{output_path}: conform-fps writes {', '.join(VIDEO_ENCODER)} files")
    media = probe(input_path)
    if not media.has_video:
        raise MediaError(f"{input_path}: has no video stream")
    rate = fps or nearest_standard_fps(media.fps_measured or media.fps_declared or 25.0)
    options = {"movflags": "+faststart"} if ext in (".mp4", ".m4v", ".mov") else {}
    used: set[int] = set()
    written = 0
    with open_container(input_path) as source, output_file(output_path) as tmp:
        video_in = source.streams.video[0]
        audio_in = source.streams.audio[0] if source.streams.audio else None
        origin = clip_start_s(source)
        times = _frame_times(input_path, video_in.index, origin)
        if times.size == 0:
            raise MediaError(f"{input_path}: the video stream has no frames")
        interval = float(np.median(np.diff(times))) if times.size > 1 else 1.0 / float(rate)
        picks = grid_picks(times, float(rate), times[-1] + interval)
        with output_container(tmp, output_path, options) as out:
            out.metadata.update(copyable_tags(source.metadata))
            video_out = out.add_stream(VIDEO_ENCODER[ext], rate=rate, options=X264_OPTIONS)
            video_out.width = video_in.codec_context.width
            video_out.height = video_in.codec_context.height
            video_out.pix_fmt = "yuv420p"
            # The muxer changes the stream's time base once writing starts; frames keep the encoder's.
            frame_time_base = 1 / rate
            video_out.time_base = frame_time_base
            video_out.metadata.update(video_in.metadata)
            if media.rotation:
                video_out.set_display_rotation(media.rotation)
            audio_packets: list[av.Packet] = []
            if audio_in is not None:
                audio_out = out.add_stream_from_template(audio_in)
                audio_out.metadata.update(audio_in.metadata)
                audio_packets = list(_copied_audio(input_path, audio_in.index, origin, audio_out))

            def retimed_packets() -> Iterator[av.Packet]:
                nonlocal written
                for k, (index, frame) in enumerate(_grid_frames(source, video_in, picks)):
                    used.add(index)
                    frame.pts = k
                    frame.time_base = frame_time_base
                    written += 1
                    if k % 25 == 0:
                        progress(0.9 * k / picks.size, "re-timing pictures")
                    yield from encoded(video_out, frame)
                yield from encoded(video_out, None)

            mux_interleaved(out, retimed_packets(), audio_packets)
    progress(1.0, "done")
    return ConformResult(
        input=input_path, output=output_path, fps=float(rate), fps_text=str(rate),
        source_fps_declared=media.fps_declared, source_fps_measured=media.fps_measured, source_vfr=media.vfr,
        source_frames=media.frame_count, output_frames=written, repeated_frames=written - len(used),
        dropped_frames=media.frame_count - len(used), audio_copied=audio_in is not None)


def _frame_times(path: str, index: int, origin: float) -> np.ndarray:
    """Presentation times of every frame of stream ``index`` (seconds from the clip start), in order."""
    with open_container(path) as source:
        stream = source.streams[index]
        pts = [packet.pts for packet in source.demux(stream) if packet.pts is not None and packet.size > 0]
        return np.sort(np.array(pts, dtype=np.float64) * float(stream.time_base) - origin)


def _grid_frames(source: av.container.InputContainer, video: av.video.stream.VideoStream,
                 picks: np.ndarray) -> Iterator[tuple[int, av.VideoFrame]]:
    """(source frame index, frame) for every grid slot, streaming the decode: each frame as often as it was picked."""
    repeats = np.bincount(picks, minlength=int(picks.max()) + 1 if picks.size else 0)
    emitted = 0
    try:
        decoded = (frame for frame in source.decode(video) if frame.pts is not None)
        for index, frame in enumerate(decoded):
            if index >= repeats.size:
                break
            for _ in range(repeats[index]):
                emitted += 1
                yield index, frame
    except av.error.FFmpegError as exc:
        if emitted == 0:
            raise MediaError(f"{source.name}: video could not be decoded ({_short(exc)})") from None


def _copied_audio(path: str, index: int, origin: float, stream: av.stream.Stream) -> Iterator[av.Packet]:
    """The source's audio packets unchanged, their timestamps moved by the clip start so the audio keeps its place."""
    with open_container(path) as source:
        audio = source.streams[index]
        yield from moved_packets(source.demux(audio), round(origin / audio.time_base), stream)
