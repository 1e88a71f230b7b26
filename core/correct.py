"""Correcting sync: slip the audio to the sample, undo drift by resampling, and mux a corrected copy.

The sign convention is the report's: ``offset_ms > 0`` means the audio is late, so the correction
moves it earlier by that much; ``drift_ms_per_min > 0`` means the audio falls further behind as
the clip plays, so it is played faster by ``1 + drift / 60000``. After correction the offset is
the same (zero) all through the clip.

The corrected file's time 0 is the first video frame: whatever gap the source had between its
audio and video starts is folded into the slip, and both streams of the output start at 0.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soxr

from core.decode import AudioBlocks, stream_audio_channels
from core.errors import MediaError
from core.fileio import output_file, refuse_overwriting_input
from core.model import SyncResult, speed_ratio
from core.mux import audio_frame, copyable_tags, encoded, moved_packets, mux_interleaved, output_container
from core.probe import _short, open_container, probe
from core.progress import ProgressFn, no_progress

__all__ = ["AudioCorrector", "CorrectedMedia", "check_correction", "choose_audio_codec", "correct_audio",
           "correction_from_sync", "offset_at_video_start", "write_corrected_audio_file", "write_corrected_media"]

# Beyond ±10 % speed the "drift" is a wrong frame rate or a different take, not clock drift.
MAX_DRIFT_MS_PER_MIN = 6000.0
# Containers a corrected copy can be written to, and the lossy audio codec each takes. Not MPEG-PS: its
# muxer delays video with B-frames past the audio, so the streams would not both start at 0.
LOSSY_AUDIO_CODEC = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "aac"}
# Containers that keep PCM audio as PCM when the source was PCM.
PCM_CONTAINERS = (".mov", ".mkv", ".wav")
# Samples per frame handed to the audio encoder (it re-frames them to its own size).
FRAME_SAMPLES = 4096


def check_correction(offset_ms: float, drift_ms_per_min: float) -> None:
    """Raise ValueError for a correction no clip can need (not finite, or drift beyond ±10 % speed)."""
    if not math.isfinite(offset_ms):
        raise ValueError("offset_ms must be finite")
    if not (math.isfinite(drift_ms_per_min) and abs(drift_ms_per_min) <= MAX_DRIFT_MS_PER_MIN):
        raise ValueError(f"drift_ms_per_min must be within ±{MAX_DRIFT_MS_PER_MIN:.0f} ms/min")


def correct_audio(samples: np.ndarray, rate: int, offset_ms: float, drift_ms_per_min: float = 0.0) -> np.ndarray:
    """Cancel a measured offset and drift; the result has the input's length and rate.

    Parameters
    ----------
    samples : np.ndarray
        Audio, (n,) or (channels, n), float; ``samples[..., 0]`` plays with the first video frame.
    rate : int
        Sample rate, Hz.
    offset_ms : float
        Measured offset at the first video frame, ms; ``> 0`` = audio late, so it is moved earlier.
        Applied to the nearest sample (at most half a sample of error), never to a video frame.
    drift_ms_per_min : float
        Measured drift, ms per minute; ``> 0`` = audio falls behind, so it is sped up by
        :func:`speed_ratio` with soxr's very-high-quality resampler.

    Returns
    -------
    np.ndarray
        float32, same shape: sample ``k`` holds the source at ``k * ratio + offset`` (seconds scaled
        by the rate), silence where the source has nothing. The same as :class:`AudioCorrector` given
        the whole clip as one block.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError("samples must be a non-empty (n,) or (channels, n) array")
    planes = x.reshape(-1, x.shape[-1])
    corrector = AudioCorrector(rate, planes.shape[0], offset_ms, drift_ms_per_min)
    return np.concatenate([corrector.add(planes), corrector.finish()], axis=1).reshape(x.shape)


class AudioCorrector:
    """:func:`correct_audio` for audio that arrives block by block, as it is decoded.

    Each block in gives the corrected samples that are ready; :meth:`finish` gives the rest, so that the
    output is as long as the input. It holds the samples the offset moves past the input so far and the
    resampler's few milliseconds, never the clip: an hour is corrected in the memory of a second.
    """

    def __init__(self, rate: int, channels: int, offset_ms: float, drift_ms_per_min: float = 0.0) -> None:
        if not (isinstance(rate, (int, np.integer)) and rate > 0):
            raise ValueError(f"rate must be a positive whole number of Hz, not {rate!r}")
        check_correction(offset_ms, drift_ms_per_min)
        lead = round(offset_ms * rate / 1000.0)
        # Slip first (the offset is measured at time 0), then play the rest faster by the exact ratio. Early
        # audio is padded, not shifted within its length: sped up, its last samples are still needed.
        self._channels = channels
        self._resampler = None if drift_ms_per_min == 0.0 else soxr.ResampleStream(
            rate * speed_ratio(drift_ms_per_min), rate, channels, dtype="float32", quality="VHQ")
        self._skip = max(lead, 0)
        self._ready = [self._resampled(np.zeros((channels, max(-lead, 0)), np.float32))]
        self._taken = 0
        self._given = 0

    def add(self, block: np.ndarray) -> np.ndarray:
        """Take the next (channels, m) float32 samples; return the (channels, k) corrected samples now ready."""
        self._taken += block.shape[1]
        dropped = min(self._skip, block.shape[1])
        self._skip -= dropped
        self._ready.append(self._resampled(block[:, dropped:]))
        return self._release(self._taken)

    def finish(self) -> np.ndarray:
        """The corrected samples still held, then silence, up to the input's length."""
        if self._resampler is not None:
            self._ready.append(self._resampler.resample_chunk(
                np.zeros((0, self._channels), np.float32), last=True).T)
        out = self._release(self._taken)
        return np.concatenate([out, np.zeros((out.shape[0], self._taken - self._given), np.float32)], axis=1)

    def _resampled(self, block: np.ndarray) -> np.ndarray:
        if self._resampler is None:
            return np.asarray(block, np.float32)
        return self._resampler.resample_chunk(np.ascontiguousarray(block.T, np.float32)).T

    def _release(self, up_to: int) -> np.ndarray:
        """What is ready, as far as ``up_to`` samples given in all; the rest stays held."""
        ready = np.concatenate(self._ready, axis=1)
        count = max(min(ready.shape[1], up_to - self._given), 0)
        self._ready = [ready[:, count:]]
        self._given += count
        return ready[:, :count]


def correction_from_sync(sync: SyncResult | dict) -> tuple[float, float]:
    """``(offset_ms, drift_ms_per_min)`` to correct, from a measurement or a report's ``sync`` object.

    The values are :meth:`core.model.SyncResult.correction`'s, the rule every fix follows; a clip measured in
    sync still gets its small offset removed when a copy is asked for. Raises :class:`MediaError` for an
    inconclusive measurement.
    """
    if isinstance(sync, dict):
        sync = SyncResult.from_dict(sync)
    correction = sync.correction()
    if correction is None:
        reason = sync.reason or "no offset measured"
        raise MediaError(f"the measurement is inconclusive ({reason}); give --offset-ms to correct by hand")
    return correction.offset_ms, correction.drift_ms_per_min


def offset_at_video_start(offset_ms: float, drift_ms_per_min: float, audio_start_s: float,
                          video_start_s: float) -> float:
    """The offset to apply to decoded samples so that the corrected audio starts with the first video frame.

    ``offset_ms`` and the drift are on the clip's media timeline (times from the clip start); the
    audio's own start relative to the video is part of the slip.
    """
    drift_offset = drift_ms_per_min * video_start_s / 60.0
    return offset_ms + drift_offset - (audio_start_s - video_start_s) * 1000.0


@dataclass(frozen=True)
class CorrectedMedia:
    """What :func:`write_corrected_media` wrote."""

    path: str
    offset_ms: float
    drift_ms_per_min: float
    applied_slip_samples: int
    sample_rate: int
    audio_codec: str
    video_codec: str | None
    video_copied: bool


def _pcm_codec(source_codec: str) -> str:
    return "pcm_s16le" if source_codec in ("pcm_s16le", "pcm_s16be", "pcm_u8") else "pcm_s24le"


def choose_audio_codec(output: str | os.PathLike[str], source_codec: str) -> str:
    """The audio codec a corrected copy at ``output`` gets: PCM stays PCM where the container allows."""
    ext = Path(output).suffix.lower()
    if ext == ".wav" or (ext in PCM_CONTAINERS and source_codec.startswith("pcm_")):
        return _pcm_codec(source_codec)
    if ext not in LOSSY_AUDIO_CODEC:
        allowed = ", ".join(sorted({*LOSSY_AUDIO_CODEC, ".wav"}))
        raise MediaError(f"{output}: cannot write a {ext or 'extensionless'} file; use one of {allowed}")
    return LOSSY_AUDIO_CODEC[ext]


def _encoded_audio(stream: av.audio.stream.AudioStream, blocks: Iterable[np.ndarray], layout: str
                   ) -> Iterator[av.Packet]:
    """Encode (channels, n) float blocks from time 0 as they come; the encoder's priming delay stays in the
    timestamps."""
    rate = stream.codec_context.sample_rate
    start = 0
    for block in blocks:
        for first in range(0, block.shape[1], FRAME_SAMPLES):
            part = block[:, first:first + FRAME_SAMPLES]
            yield from encoded(stream, audio_frame(part, layout, rate, start))
            start += part.shape[1]
    yield from encoded(stream, None)


def _add_audio_stream(out: av.container.OutputContainer, codec: str, audio: AudioBlocks,
                      metadata: dict[str, str]) -> av.audio.stream.AudioStream:
    stream = out.add_stream(codec, rate=audio.rate, layout=audio.layout)
    if codec == "aac":
        stream.codec_context.bit_rate = min(96000 * audio.channels, 320000)
    stream.metadata.update(metadata)
    return stream


def write_corrected_audio_file(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str],
                               offset_ms: float, drift_ms_per_min: float = 0.0,
                               progress: ProgressFn = no_progress, channels: Sequence[int] | None = None
                               ) -> CorrectedMedia:
    """Write the corrected audio of ``input_path`` as a WAV (PCM) file whose sample 0 plays with the first video frame.

    ``channels`` (0-based) keeps only those channels, in that order. This is what the Resolve plugin's "conform"
    strategy places under the clip, one file per audio item with the channels that item plays.
    """
    if Path(output_path).suffix.lower() != ".wav":
        raise MediaError(f"{output_path}: the corrected audio file must be a .wav")
    return write_corrected_media(input_path, output_path, offset_ms, drift_ms_per_min, progress, channels)


def write_corrected_media(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str],
                          offset_ms: float, drift_ms_per_min: float = 0.0,
                          progress: ProgressFn = no_progress, channels: Sequence[int] | None = None
                          ) -> CorrectedMedia:
    """Write a copy of ``input_path`` with its audio corrected; the video is copied packet for packet.

    Parameters
    ----------
    input_path, output_path : path-like
        Source and destination; the destination's extension picks the container (a ``.wav``
        destination gets the corrected audio only). Written atomically.
    offset_ms, drift_ms_per_min : float
        The measured offset (ms, ``> 0`` = audio late, at media time 0) and drift (ms per minute).
    channels : sequence of int, optional
        Keep only these audio channels (0-based); every channel by default.

    Raises
    ------
    MediaError
        Unreadable input, no audio stream, a container that cannot hold the video codec.
    """
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    refuse_overwriting_input(output_path, input_path)
    try:
        check_correction(offset_ms, drift_ms_per_min)
    except ValueError as exc:
        raise MediaError(f"{input_path}: {exc}") from None
    media = probe(input_path)
    audio = stream_audio_channels(input_path, channels or ())
    origin = media.video_start_s if media.video_start_s is not None else audio.start_s
    effective = offset_at_video_start(offset_ms, drift_ms_per_min, audio.start_s, origin)
    corrector = AudioCorrector(audio.rate, audio.channels, effective, drift_ms_per_min)
    audio_only_output = Path(output_path).suffix.lower() == ".wav"
    codec = choose_audio_codec(output_path, audio.codec)

    def corrected() -> Iterator[np.ndarray]:
        # Decoded, corrected, encoded and muxed a block at a time, between the video packets they play with.
        done = 0
        for block in audio.blocks:
            yield corrector.add(block)
            done += block.shape[1]
            progress(min(done / audio.rate / max(media.duration_s, 1e-9), 1.0), "correcting audio")
        yield corrector.finish()

    progress(0.0, "correcting audio")
    with open_container(input_path) as source, output_file(output_path) as tmp:
        video_in = None if audio_only_output or not source.streams.video else source.streams.video[0]
        ext = Path(output_path).suffix.lower()
        options = {"movflags": "+faststart"} if ext in (".mp4", ".m4v", ".mov") else {}
        with output_container(tmp, output_path, options) as out:
            out.metadata.update(copyable_tags(source.metadata))
            video_out = None
            if video_in is not None:
                if video_in.codec_context.name not in out.supported_codecs:
                    raise MediaError(f"{output_path}: a {ext} file cannot hold {video_in.codec_context.name} video "
                                     "without re-encoding; choose .mkv or .mov")
                video_out = out.add_stream_from_template(video_in)
                video_out.metadata.update(video_in.metadata)
            audio_out = _add_audio_stream(out, codec, audio, dict(source.streams.audio[0].metadata))
            audio_packets = _encoded_audio(audio_out, corrected(), audio.layout)
            if video_in is not None and video_out is not None:
                mux_interleaved(out, _copied_video(source, video_in, video_out), audio_packets)
            else:
                for packet in audio_packets:
                    out.mux(packet)
    progress(1.0, "done")
    return CorrectedMedia(path=output_path, offset_ms=offset_ms, drift_ms_per_min=drift_ms_per_min,
                          applied_slip_samples=-round(effective * audio.rate / 1000.0), sample_rate=audio.rate,
                          audio_codec=codec, video_codec=video_in.codec_context.name if video_in else None,
                          video_copied=video_in is not None)


def _copied_video(source: av.container.InputContainer, video_in: av.video.stream.VideoStream,
                  video_out: av.video.stream.VideoStream) -> Iterator[av.Packet]:
    """The source's video packets, unchanged but for timestamps moved so the first frame is at 0."""
    try:
        yield from moved_packets(source.demux(video_in), video_in.start_time, video_out)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{source.name}: the video could not be copied ({_short(exc)})") from None
