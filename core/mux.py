"""Writing packets of two streams into one container in time order."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.errors import MediaError
from core.probe import _short
from core.stopping import check_stopped

__all__ = ["audio_frame", "copyable_tags", "encoded", "moved_packets", "mux_interleaved", "output_container",
           "packet_time_s"]

# Container tags a muxer writes itself; copying a source's would misdescribe the new file.
MUXER_TAGS = frozenset({"encoder", "major_brand", "minor_version", "compatible_brands"})


def copyable_tags(metadata: dict[str, str]) -> dict[str, str]:
    """A source container's tags (title, creation time, ...) that belong on a file made from it."""
    return {key: value for key, value in metadata.items() if key not in MUXER_TAGS}


def audio_frame(samples: np.ndarray, layout: str, rate: int, pts: int) -> av.AudioFrame:
    """A frame of float audio for an encoder, from ``samples`` (channels, n), starting at sample ``pts``.

    Interleaved rather than planar: PyAV fills a planar frame plane by plane up to the first null data
    pointer, and a frame of eight or more channels has none (see :mod:`core.decode`).
    """
    packed = np.ascontiguousarray(np.asarray(samples, np.float32).T).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="flt", layout=layout)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = Fraction(1, rate)
    return frame


def encoded(stream: av.audio.stream.AudioStream | av.video.stream.VideoStream,
            frame: av.AudioFrame | av.VideoFrame | None) -> list[av.Packet]:
    """``stream.encode(frame)``, then any stop the encoder swallowed (:func:`core.stopping.check_stopped`).

    A stop signal's exception raised inside PyAV's encoder is lost now and then; checking after each frame
    stops a long encode within a frame instead of letting it run to the end.
    """
    packets = stream.encode(frame)
    check_stopped()
    return packets


def packet_time_s(packet: av.Packet) -> float:
    """When a packet is due in the file: its decode time (presentation time when it has none), seconds."""
    when = packet.dts if packet.dts is not None else packet.pts
    return float(when * packet.time_base) if when is not None else 0.0


def moved_packets(packets: Iterable[av.Packet], shift: int | None, stream: av.stream.Stream) -> Iterator[av.Packet]:
    """Packets copied to ``stream`` with their timestamps moved back by ``shift`` ticks; empty ones dropped.

    ``shift=None`` moves them by the first packet's own time, so the copy starts at 0. A decode time
    not after the previous one is moved a tick past it, as ffmpeg does: demuxers guessing decode times
    for B-frames (Matroska, MPEG-PS) give two packets the same one, which MP4 and MOV muxers refuse.
    Presentation times stay as they are unless they would come before the decode time.
    """
    last_dts = None
    for packet in packets:
        if packet.size == 0:
            continue
        if shift is None:
            shift = packet.pts if packet.pts is not None else packet.dts or 0
        if packet.pts is not None:
            packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
            if last_dts is not None and packet.dts <= last_dts:
                if packet.pts is not None and packet.pts >= packet.dts:
                    packet.pts = max(packet.pts, last_dts + 1)
                packet.dts = last_dts + 1
            last_dts = packet.dts
        packet.stream = stream
        yield packet


def mux_interleaved(out: av.container.OutputContainer, leading: Iterable[av.Packet],
                    following: Iterable[av.Packet]) -> None:
    """Mux the ``leading`` packets as they come, slotting each of ``following`` in before the first later one.

    Both sequences must already be in decode order and carry their output stream and timestamps.
    """
    pending = iter(following)
    waiting = next(pending, None)
    for packet in leading:
        t = packet_time_s(packet)
        while waiting is not None and packet_time_s(waiting) <= t:
            out.mux(waiting)
            waiting = next(pending, None)
        out.mux(packet)
    while waiting is not None:
        out.mux(waiting)
        waiting = next(pending, None)


@contextlib.contextmanager
def output_container(tmp: Path, output: str | os.PathLike[str],
                     options: dict[str, str] | None = None) -> Iterator[av.container.OutputContainer]:
    """Open ``tmp`` for writing the file that becomes ``output``; a muxer's refusal becomes a :class:`MediaError`.

    The muxer may refuse a copied stream only when it writes the header or the index (PCM audio in .mp4 is
    accepted by PyAV's codec check and then rejected), which the caller cannot test for beforehand.
    """
    try:
        with av.open(str(tmp), "w", options=options or {}) as out:
            yield out
    except av.error.FFmpegError as exc:
        if isinstance(exc, OSError):  # the disk refused the bytes (full, read-only): not the streams' fault
            raise
        ext = Path(output).suffix or "this"
        raise MediaError(f"{output}: a {ext} file cannot hold these streams as they are ({_short(exc)}); "
                         "choose .mkv or .mov") from None
