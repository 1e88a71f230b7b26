"""Decode audio to mono float samples and video to frames, both with real presentation times.

Video is streamed frame by frame so memory does not grow with clip length. Audio (64 kB per second at
16 kHz, 230 MB an hour) is held whole for a short clip (:func:`decode_audio`) and kept in a temporary file for
an analysis, which reads back only the parts it measures (:func:`spool_audio`).
"""

from __future__ import annotations

import itertools
import os
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import IO

import av
import numpy as np
import soxr

from core.errors import MediaError
from core.levels import LevelMeter, frame_levels_dbfs
from core.probe import _short, clip_start_s, open_container, quarter_turns
from core.stopping import check_stopped

__all__ = ["AudioBlocks", "AudioChannels", "AudioTrack", "SpooledAudio", "VideoFrame", "decode_audio",
           "decode_audio_channels", "decode_threads", "decoded_ahead", "default_layout", "iter_video_frames",
           "key_frame_before", "spool_audio", "spool_samples", "stream_audio_channels"]

# What one decoder's frame threads may hold in pictures, and a generous size of one picture per pixel (10-bit
# 4:2:2 is 4 bytes a pixel; a thread holds about one picture being decoded besides its references).
DECODE_MEMORY_BYTES = 384 * 2**20
BYTES_PER_PIXEL_BOUND = 4


@dataclass(frozen=True)
class AudioTrack:
    """Mono audio on the clip's media timeline.

    ``samples[0]`` plays at ``start_s`` seconds from the start of the clip. ``peak_dbfs`` is the
    highest sample of any original channel before downmixing.
    """

    samples: np.ndarray
    rate: int
    start_s: float
    source_rate: int
    channels: int
    peak_dbfs: float

    @property
    def size(self) -> int:
        """Length in samples."""
        return self.samples.size

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.rate

    @cached_property
    def levels_dbfs(self) -> np.ndarray:
        """Levels of its :data:`~core.levels.LEVEL_FRAME_S` frames from the first sample (dBFS)."""
        return frame_levels_dbfs(self.samples, self.rate)

    def read(self, first: int, last: int) -> np.ndarray:
        """Samples ``[first, last)`` counted from the first one (clipped to what there is): (n,) float32, a view."""
        first, last = _clipped(first, last, self.size)
        return self.samples[first:last]

    def between(self, start_s: float, end_s: float) -> AudioTrack:
        """The part between media seconds ``start_s`` and ``end_s`` (clipped to what there is)."""
        first, last = _sample_range(start_s - self.start_s, end_s - self.start_s, self.rate, self.size)
        return replace(self, samples=self.samples[first:last], start_s=self.start_s + first / self.rate)


def _clipped(first: int, last: int, size: int) -> tuple[int, int]:
    """``[first, last)`` within ``[0, size)``, empty rather than reversed."""
    first = min(max(first, 0), size)
    return first, min(max(last, first), size)


def _sample_range(start_s: float, end_s: float, rate: int, size: int) -> tuple[int, int]:
    """The samples ``[first, last)`` of ``size`` at ``rate`` between ``start_s`` and ``end_s`` from the first one."""
    return _clipped(round(start_s * rate), round(end_s * rate), size)


@dataclass(frozen=True, eq=False)
class SpooledAudio:
    """A file's mono audio decoded once into a temporary file, so that memory does not grow with its length.

    Holds what whole-file checks need (``levels_dbfs``, ``peak_dbfs``, the length in samples, ``size``) and
    reads the parts a measurement needs back as :class:`AudioTrack` (:meth:`between`) or as samples (:meth:`read`,
    which :class:`AudioTrack` has too), sample for sample what :func:`decode_audio` gives. Close it (or use it as
    a context manager) to free the file; the file has no name that outlives the process.
    """

    file: IO[bytes] = field(repr=False)
    size: int
    rate: int
    start_s: float
    source_rate: int
    channels: int
    peak_dbfs: float
    levels_dbfs: np.ndarray = field(repr=False)
    # One file position for reads from several threads.
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def duration_s(self) -> float:
        return self.size / self.rate

    def read(self, first: int, last: int) -> np.ndarray:
        """Samples ``[first, last)`` counted from the first one (clipped to what there is): (n,) float32, in memory."""
        first, last = _clipped(first, last, self.size)
        samples = np.empty(last - first, np.float32)
        with self._lock:
            self.file.seek(first * samples.itemsize)
            read = self.file.readinto(memoryview(samples).cast("B"))
        if read != samples.nbytes:
            raise MediaError("the temporary copy of the decoded audio ended early")
        return samples

    def between(self, start_s: float, end_s: float) -> AudioTrack:
        """The part between media seconds ``start_s`` and ``end_s`` (clipped to what there is), in memory."""
        first, last = _sample_range(start_s - self.start_s, end_s - self.start_s, self.rate, self.size)
        return AudioTrack(self.read(first, last), self.rate, self.start_s + first / self.rate, self.source_rate,
                          self.channels, self.peak_dbfs)

    def whole(self) -> AudioTrack:
        """All of it, in memory."""
        return self.between(self.start_s, self.start_s + self.duration_s)

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> SpooledAudio:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@dataclass(frozen=True)
class VideoFrame:
    """One decoded picture: ``image`` is RGB uint8 (height, width, 3), shown at ``time_s``."""

    time_s: float
    image: np.ndarray


def _audio_layout(ctx: av.audio.codeccontext.AudioCodecContext) -> str:
    layout = ctx.layout.name if ctx.layout is not None else ""
    if not layout or layout.endswith("channels"):  # unordered channels (PCM in Matroska): the default order
        layout = _DEFAULT_LAYOUTS.get(ctx.channels or 1, f"{ctx.channels}c")
    return layout


def _audio_facts(path: str) -> tuple[int, int, str, str]:
    """Sample rate, channel count, channel layout and codec name of the first audio stream."""
    with open_container(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path}: has no audio stream")
        ctx = container.streams.audio[0].codec_context
        return ctx.sample_rate, ctx.channels or 1, _audio_layout(ctx), ctx.name


def _planar_audio(path: str) -> Iterator[tuple[float, np.ndarray]]:
    """Decode the first audio stream block by block as ``(start_s, planes)``, planes (channels, n) float32.

    ``start_s`` of the first block is where the stream starts on the clip's timeline. Raises
    :class:`MediaError` when there is no audio stream or nothing in it decodes; a stream that
    breaks off later simply ends.

    The samples come out of FFmpeg interleaved and are split into planes here: PyAV finds a planar
    frame's planes by walking its data pointers up to the first null one, and a frame of eight or more
    channels has none (the pointer array is full), so reading one ran off the array and crashed.
    """
    with open_container(path) as container:
        if not container.streams.audio:
            raise MediaError(f"{path}: has no audio stream")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        origin = clip_start_s(container)
        ctx = stream.codec_context
        # Whole seconds at a time: converting each codec frame (20 ms) on its own cost more than decoding it.
        interleaved = av.AudioResampler(format="flt", layout=_audio_layout(ctx), rate=ctx.sample_rate,
                                        frame_size=ctx.sample_rate)
        start_s: float | None = None
        decoded = False
        try:
            for frame in container.decode(stream):
                if start_s is None and frame.pts is not None:
                    start_s = float(frame.pts * frame.time_base) - origin
                converted_frames = interleaved.resample(frame)
                check_stopped()  # the resampler can swallow a stop raised while it runs
                for converted in converted_frames:
                    decoded = True
                    yield start_s or 0.0, _planes(converted)
        except av.error.FFmpegError as exc:
            if not decoded:
                raise MediaError(f"{path}: audio could not be decoded ({_short(exc)})") from None
        for converted in interleaved.resample(None):
            yield start_s or 0.0, _planes(converted)


def _planes(frame: av.AudioFrame) -> np.ndarray:
    """An interleaved float frame's samples as (channels, n) float32."""
    return frame.to_ndarray().reshape(-1, frame.layout.nb_channels).T


def _mono_blocks(path: str, source_rate: int, rate: int,
                 channels: Sequence[int] = ()) -> Iterator[tuple[float, float, np.ndarray]]:
    """The first audio stream (``source_rate`` Hz) as ``(start_s, peak, samples)`` blocks: where the stream
    starts on the clip's timeline, the block's highest sample of any channel taken, and its (n,) float32
    samples downmixed to mono at ``rate`` Hz. ``channels`` (0-based) are the only ones taken, when given.

    Downmixed here rather than in FFmpeg so channel peaks stay measurable, and resampled with soxr (very high
    quality, linear phase, its delay compensated) rather than swresample so the timing is sample-exact.
    """
    resampler = soxr.ResampleStream(source_rate, rate, 1, dtype="float32", quality="VHQ") \
        if rate != source_rate else None
    origin: float | None = None
    for start_s, planes in _planar_audio(path):
        origin = start_s if origin is None else origin
        # On the samples as FFmpeg interleaved them: reducing the strided planes took a third of an hour's
        # decoding, the contiguous array a small part of it.
        interleaved = planes.T[:, list(channels)] if channels else planes.T
        peak = _block_peak(interleaved)
        mono = interleaved @ np.full(interleaved.shape[1], 1.0 / interleaved.shape[1], np.float32)
        yield origin, peak, resampler.resample_chunk(mono) if resampler else mono
    if resampler is not None:
        yield origin or 0.0, 0.0, resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def _peak_dbfs(peak: float) -> float:
    return float(20.0 * np.log10(peak)) if peak > 0 else -np.inf


def decode_audio(path: str | os.PathLike[str], rate: int | None = 16000) -> AudioTrack:
    """Decode the first audio stream of ``path`` to mono float32, held in memory.

    Parameters
    ----------
    path : path-like
        Media file.
    rate : int or None
        Output sample rate in Hz; None keeps the stream's own rate. Resampling uses soxr (see
        :func:`_mono_blocks`), so timing is sample-exact.

    Raises
    ------
    MediaError
        No audio stream, or nothing decodable in it.
    """
    path = os.fspath(path)
    source_rate, channels, _, _ = _audio_facts(path)
    out_rate = rate or source_rate
    chunks: list[np.ndarray] = []
    peak, start_s = 0.0, 0.0
    for block_start_s, block_peak, samples in _mono_blocks(path, source_rate, out_rate):
        start_s, peak = block_start_s, max(peak, block_peak)
        chunks.append(samples)
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise MediaError(f"{path}: the audio stream has no samples")
    return AudioTrack(samples, out_rate, start_s, source_rate, channels, _peak_dbfs(peak))


def spool_audio(path: str | os.PathLike[str], rate: int | None = 16000,
                channels: Sequence[int] = ()) -> SpooledAudio:
    """Decode the first audio stream of ``path`` to mono float32 in a temporary file (see :class:`SpooledAudio`).

    Memory stays at a second of audio and the frame levels (6 kB a minute), whatever the file's length; the
    temporary file takes 64 kB a second at 16 kHz. ``channels`` (0-based) are the only ones mixed, when given
    (a recorder's polyphonic file). Parameters and errors as :func:`decode_audio`, and :class:`MediaError` when
    the temporary folder cannot take the audio or a channel is not in the file.
    """
    path = os.fspath(path)
    source_rate, count, _, _ = _audio_facts(path)
    _check_channels(path, count, channels)
    out_rate = rate or source_rate
    spooled = _spooled(_mono_blocks(path, source_rate, out_rate, channels), out_rate, source_rate,
                       len(channels) or count, f"{path}: its decoded audio")
    if spooled.size == 0:
        spooled.close()
        raise MediaError(f"{path}: the audio stream has no samples")
    return spooled


def spool_samples(blocks: Iterable[np.ndarray], like: AudioTrack | SpooledAudio, name: str) -> SpooledAudio:
    """Mono audio made from ``like`` (its sound cleaned, say) in a temporary file of its own, as :func:`spool_audio`
    keeps decoded audio: ``blocks`` are its (n,) float32 samples in turn, at ``like``'s rate and starting where it
    starts; its ``peak_dbfs`` is theirs. ``name`` says whose audio it is in the :class:`MediaError` raised when the
    temporary folder cannot take it."""
    return _spooled(((like.start_s, _block_peak(b), b) for b in blocks), like.rate, like.source_rate, like.channels,
                    name)


def _block_peak(samples: np.ndarray) -> float:
    return max(float(samples.max()), -float(samples.min())) if samples.size else 0.0


def _spooled(blocks: Iterable[tuple[float, float, np.ndarray]], rate: int, source_rate: int, channels: int,
             name: str) -> SpooledAudio:
    """``(start_s, peak, samples)`` blocks (see :func:`_mono_blocks`) written to a temporary file as they come."""
    meter = LevelMeter(rate)
    file = tempfile.TemporaryFile(prefix="lipalign-audio-")  # noqa: SIM115 (it lives on in the SpooledAudio)
    try:
        size, peak, start_s = 0, 0.0, 0.0
        for block_start_s, block_peak, samples in blocks:
            file.write(samples.astype(np.float32, copy=False).tobytes())
            meter.add(samples)
            size, peak, start_s = size + samples.size, max(peak, block_peak), block_start_s
        file.flush()
    except OSError as exc:
        file.close()
        raise MediaError(f"{name} could not be kept in the temporary folder "
                         f"{tempfile.gettempdir()} ({exc.strerror or exc})") from None
    except BaseException:
        file.close()
        raise
    return SpooledAudio(file, size, rate, start_s, source_rate, channels, _peak_dbfs(peak), meter.levels_dbfs())


def decode_threads(width: int, height: int, cores: int | None = None) -> int:
    """Decoder threads for pictures of ``width`` x ``height``: one per core, fewer for huge pictures.

    Each frame thread holds pictures of its own, so a decoder's memory grows with the thread count times
    the picture size (an 8K H.264 stream took 200 MB on one thread, 900 MB on sixteen); the threads are
    limited so that :data:`DECODE_MEMORY_BYTES` covers them.
    """
    cores = cores or os.cpu_count() or 1
    picture = max(width * height, 1) * BYTES_PER_PIXEL_BOUND
    return int(min(cores, max(1, DECODE_MEMORY_BYTES // picture)))


def key_frame_before(path: str | os.PathLike[str], time_s: float) -> float | None:
    """Media time (s) of the video key frame at or before ``time_s``, where decoding from ``time_s`` starts;
    None when the file cannot seek or says no key frame there."""
    with open_container(os.fspath(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        origin = clip_start_s(container)
        try:
            container.seek(int((max(time_s, 0.0) + origin) / stream.time_base), stream=stream, backward=True)
            packet = next((p for p in container.demux(stream) if p.pts is not None), None)
        except (av.error.FFmpegError, StopIteration):
            return None
        if packet is None or not packet.is_keyframe:
            return None
        key_s = float(packet.pts * packet.time_base) - origin
        return key_s if key_s <= time_s else None


def iter_video_frames(path: str | os.PathLike[str], max_side: int | None = 640, start_s: float = 0.0,
                      end_s: float | None = None, *, from_key_frame: bool = False) -> Iterator[VideoFrame]:
    """Yield the frames of the first video stream in presentation order, upright as a player shows them.

    Parameters
    ----------
    path : path-like
        Media file.
    max_side : int or None
        Downscale so the longer side is at most this many pixels (face landmarks need no more);
        None keeps the full size. Pictures stored sideways (a display rotation, as phones write)
        are turned, so their height and width swap.
    start_s, end_s : float
        Only frames shown at ``start_s <= time < end_s`` (seconds from the clip start); decoding
        seeks to the key frame before ``start_s``.
    from_key_frame : bool
        Start at that key frame instead of ``start_s``: for a look at about that time, without decoding
        the frames between only to skip them (up to ten seconds of them in long-GOP media).

    Raises
    ------
    MediaError
        No video stream. A stream that breaks off midway ends the iteration instead, so a
        truncated file still yields what it has.
    """
    path = os.fspath(path)
    container = open_container(path)
    try:
        if not container.streams.video:
            raise MediaError(f"{path}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        width, height = stream.codec_context.width, stream.codec_context.height
        stream.codec_context.thread_count = decode_threads(width, height)
        origin = clip_start_s(container)
        scale = min(1.0, max_side / max(width, height)) if max_side and width and height else 1.0
        out_w, out_h = (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)) \
            if scale < 1.0 else (width, height)
        if start_s > 0 and stream.time_base is not None:
            try:
                container.seek(int((start_s + origin) / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                container.seek(0)  # not seekable: decode from the start and skip
        decoded = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                time_s = float(frame.pts * frame.time_base) - origin
                if from_key_frame and decoded == 0:
                    start_s = min(start_s, time_s)
                if time_s < start_s:
                    continue
                if end_s is not None and time_s >= end_s:
                    break
                # Scaled in this thread alone: the decoder has threads of its own and face tracking keeps the
                # other core busy, so swscale's slice threads would only queue behind them (same pixels).
                image = frame.to_ndarray(format="rgb24", width=out_w, height=out_h, threads=1)
                turns = quarter_turns(frame)
                if turns:  # turned as a player shows it, so faces are upright for every consumer
                    image = np.ascontiguousarray(np.rot90(image, turns))
                decoded += 1
                yield VideoFrame(time_s, image)
        except av.error.FFmpegError as exc:
            if decoded == 0:
                raise MediaError(f"{path}: video could not be decoded ({_short(exc)})") from None
    finally:
        container.close()


# Frames decoded ahead of the consumer: a few, so memory stays small at any frame size.
PREFETCH_FRAMES = 8
_END = object()


def decoded_ahead(frames: Iterable[VideoFrame], depth: int = PREFETCH_FRAMES) -> Iterator[VideoFrame]:
    """``frames``, decoded (and converted) in a thread of their own up to ``depth`` frames ahead.

    Face tracking and decoding each keep about one core busy and both release the interpreter lock in
    their native code, so overlapping them takes about the time of the slower one. An error while
    decoding is raised here, where the frame would have been; stopping early stops the decoding.
    """
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def decode() -> None:
        source = iter(frames)
        try:
            for frame in source:
                while not stop.is_set():
                    try:
                        ahead.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            outcome: object = _END
        except BaseException as exc:  # handed to the consumer, which raises it
            outcome = exc
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        while not stop.is_set():
            try:
                ahead.put(outcome, timeout=0.1)
                break
            except queue.Full:
                continue

    worker = threading.Thread(target=decode, name="lipalign-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = ahead.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


# FFmpeg's default channel order for a channel count, for streams that leave the order unspecified.
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def default_layout(channels: int) -> str:
    """FFmpeg's default channel layout name for ``channels`` channels (``"2c"`` style past 8)."""
    return _DEFAULT_LAYOUTS.get(channels, f"{channels}c")


@dataclass(frozen=True)
class AudioChannels:
    """Every channel of an audio stream at its own rate, for writing corrected copies.

    ``samples`` is (channels, n) float32; ``samples[:, 0]`` plays at ``start_s`` seconds from the
    start of the clip. ``layout`` is FFmpeg's channel layout name and ``codec`` the stream's codec.
    """

    samples: np.ndarray
    rate: int
    start_s: float
    layout: str
    codec: str

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])


@dataclass(frozen=True)
class AudioBlocks:
    """:class:`AudioChannels` as it is decoded: ``blocks`` yields (channels, n) float32 samples in turn, the first
    playing at ``start_s``; read them once."""

    blocks: Iterator[np.ndarray]
    rate: int
    start_s: float
    layout: str
    codec: str
    channels: int


def _check_channels(path: str, count: int, channels: Sequence[int]) -> None:
    missing = [c for c in channels if not 0 <= c < count]
    if missing:
        raise MediaError(f"{path}: has {count} audio channel(s); channel {missing[0] + 1} is not there")


def stream_audio_channels(path: str | os.PathLike[str], channels: Sequence[int] = ()) -> AudioBlocks:
    """Decode the first audio stream of ``path`` block by block, without downmixing or resampling, so that a
    file of any length is corrected in the memory of a second of it.

    ``channels`` (0-based, in this order) are the only ones kept when given, with the default layout for their
    count.

    Raises
    ------
    MediaError
        No audio stream, nothing decodable in it, or a channel that is not in the file.
    """
    path = os.fspath(path)
    rate, count, layout, codec = _audio_facts(path)
    _check_channels(path, count, channels)
    decoded = _planar_audio(path)
    first = next(decoded, None)
    while first is not None and first[1].shape[1] == 0:
        first = next(decoded, None)
    if first is None:
        raise MediaError(f"{path}: the audio stream has no samples")
    picked = list(channels)

    def blocks() -> Iterator[np.ndarray]:
        for _, planes in itertools.chain([first], decoded):
            yield np.ascontiguousarray(planes[picked]) if picked else planes

    return AudioBlocks(blocks(), rate, first[0], default_layout(len(picked)) if picked else layout, codec,
                       len(picked) or count)


def decode_audio_channels(path: str | os.PathLike[str]) -> AudioChannels:
    """Decode the first audio stream of ``path`` without downmixing or resampling, held in memory.

    Raises
    ------
    MediaError
        No audio stream, or nothing decodable in it.
    """
    audio = stream_audio_channels(path)
    samples = np.concatenate(list(audio.blocks), axis=1).astype(np.float32, copy=False)
    return AudioChannels(samples, audio.rate, audio.start_s, audio.layout, audio.codec)
