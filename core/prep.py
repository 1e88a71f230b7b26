"""Cleaning a source's audio before it goes to a lip-sync generator: denoise, trim, normalise, 16-bit mono WAV.

Silence and noise are judged with :mod:`core.levels`, the same measures the pre-flight diagnostics use.

Memory does not grow with the recording's length: its sound is spooled to a temporary file
(:func:`~core.decode.spool_audio`), cleaned a block at a time into another (:func:`reduce_noise`), and measured,
trimmed, normalised and written from there a block at a time. Up to one block (:data:`GATE_BLOCK`, 27 s at
22.05 kHz) the output is the file cleaning the recording whole gave; a longer one is cleaned as one gate over all
of it would clean it, where noisereduce's own chunks (600000 samples) moved its STFT grid at each.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from fractions import Fraction

import av
import noisereduce
import numpy as np

from core import levels
from core.decode import AudioTrack, SpooledAudio, spool_audio, spool_samples
from core.errors import MediaError
from core.fileio import output_file, refuse_overwriting_input
from core.mux import copyable_tags, encoded
from core.probe import open_container, probe
from core.progress import ProgressFn, no_progress

__all__ = ["DEFAULT_PEAK_DBFS", "DEFAULT_RATE", "MAX_EDGE_SILENCE_S", "PrepResult", "edge_silence_cuts",
           "edge_silence_s", "noise_profile", "peak_gain_db", "prep_audio_file", "reduce_noise", "to_pcm16"]

DEFAULT_RATE = 22050  # Hz: what most lip-sync generators expect
DEFAULT_PEAK_DBFS = -3.0
MAX_EDGE_SILENCE_S = 0.2
# The noise profile: the quietest level frames, this share of the clip but at least MIN_PROFILE_S.
PROFILE_SHARE = 0.1
MIN_PROFILE_S = 0.25
# A profile longer than this (samples) is cut to it: what noisereduce's stationary gate heard of a longer one when
# it cleaned whole recordings (it clips a profile to its chunk size, 600000 samples, 27 s at 22.05 kHz).
MAX_PROFILE_SAMPLES = 600_000
# Trimming edge silence converges in one or two passes; this bounds it on pathological input.
MAX_TRIM_PASSES = 5
# The gate's STFT length (noisereduce's default); its frames are a quarter of that apart.
GATE_FFT = 1024
# Samples gated at a time: noisereduce's own chunk through a long recording (600000) rounded up to whole STFT hops,
# so that every block's frames fall on one grid and the samples either side of a seam are those one gate over the
# whole recording gives (to rounding): no step, no click.
GATE_BLOCK = 2344 * (GATE_FFT // 4)
# Samples of the recording each block is gated with either side, then cut off (noisereduce's own padding): far more
# than the gate reaches (its window and its 50 ms mask smoothing, under 11000 samples at 192 kHz).
GATE_PADDING = 30_000
# Samples read at a time for levels, the peak and the output.
READ_BLOCK = 2**16
RATES = range(8000, 192001)
_PCM16_MAX = 32767


@dataclass(frozen=True)
class PrepResult:
    """What ``prep-audio`` changed. Levels in dBFS, lengths in ms.

    ``noise_floor_after_dbfs`` is the output file's floor (after the gain); ``noise_reduction_db`` is
    how much lower the floor sits relative to the programme, the gain taken out.
    """

    input: str
    output: str
    rate: int
    source_rate: int
    source_channels: int
    duration_in_s: float
    duration_out_s: float
    noise_floor_before_dbfs: float
    noise_floor_after_dbfs: float
    noise_reduction_db: float
    noise_profile_ms: float
    trimmed_start_ms: float
    trimmed_end_ms: float
    gain_db: float
    peak_dbfs: float

    def to_dict(self) -> dict:
        return {"schema": "lipalign.prep-audio/1", **asdict(self)}


def noise_profile(audio: AudioTrack | SpooledAudio, share: float = PROFILE_SHARE, min_s: float = MIN_PROFILE_S,
                  max_samples: int = MAX_PROFILE_SAMPLES) -> np.ndarray:
    """The quietest stretches of ``audio`` joined together: what the recording sounds like when nobody speaks.

    Parameters
    ----------
    audio : AudioTrack or SpooledAudio
        Mono audio, full scale 1.0; only the frames taken are read.
    share, min_s : float
        Take the quietest :data:`core.levels.LEVEL_FRAME_S` frames making up this share of the clip,
        and at least ``min_s`` seconds.
    max_samples : int
        Of those, in time order, no more than this many samples.

    Returns
    -------
    (n,) float32 array
    """
    size = max(1, round(levels.LEVEL_FRAME_S * audio.rate))
    frame_levels = audio.levels_dbfs
    count = min(frame_levels.size, max(round(share * frame_levels.size), int(np.ceil(min_s * audio.rate / size))))
    quietest = np.sort(np.argsort(frame_levels, kind="stable")[:count])
    parts = [audio.read(i * size, (i + 1) * size) for i in quietest[:math.ceil(max_samples / size)]]
    return np.concatenate(parts)[:max_samples] if parts else np.zeros(0, np.float32)


def reduce_noise(audio: AudioTrack | SpooledAudio, profile: np.ndarray) -> Iterator[np.ndarray]:
    """Spectral-gate noise reduction against a noise ``profile`` (stationary noise, as in a room or a hum).

    Yields the cleaned samples ((n,) float32) :data:`GATE_BLOCK` at a time. Each block is gated with
    :data:`GATE_PADDING` samples of the recording either side (silence beyond its ends) and cut out again, as
    noisereduce itself goes through a long recording; a recording of one block is cleaned exactly as a whole one.
    """
    for first in range(0, audio.size, GATE_BLOCK):
        last = min(first + GATE_BLOCK, audio.size)
        padded = np.zeros(last - first + 2 * GATE_PADDING, np.float32)
        context = audio.read(first - GATE_PADDING, last + GATE_PADDING)
        start = max(0, GATE_PADDING - first)
        padded[start:start + context.size] = context
        cleaned = noisereduce.reduce_noise(y=padded, sr=audio.rate, y_noise=profile, stationary=True, n_fft=GATE_FFT,
                                           chunk_size=None, padding=0, n_jobs=1)
        yield np.asarray(cleaned[GATE_PADDING:GATE_PADDING + last - first], dtype=np.float32)


def edge_silence_s(audio: AudioTrack | SpooledAudio, first: int = 0, last: int | None = None) -> tuple[float, float]:
    """Seconds of silence before the first and after the last sound of ``audio``'s samples ``[first, last)`` (all
    of them by default), their levels measured a block at a time from either end."""
    last = audio.size if last is None else last
    forward, backward = levels.LevelMeter(audio.rate), levels.LevelMeter(audio.rate)
    for block in _blocks(audio, first, last):
        forward.add(block)
    for block in _blocks(audio, first, last, backward=True):
        backward.add(block)
    return levels.leading_silence_s(forward.levels_dbfs()), levels.leading_silence_s(backward.levels_dbfs())


def edge_silence_cuts(audio: AudioTrack | SpooledAudio, keep_s: float = MAX_EDGE_SILENCE_S) -> tuple[int, int]:
    """Samples to cut at the start and at the end of ``audio`` to leave ``keep_s`` seconds of silence at most there.

    The silence threshold adapts to the recording's floor and speech level, and cutting long silent edges
    moves both, so stretches that counted as sound before a cut can count as silence after it (measured on
    the VisualVoice interview: 0.3 s of tail silence left after one pass). The cut is repeated on its own
    result until the output, measured as it is, meets the limit.
    """
    cut_start = cut_end = 0
    for _ in range(MAX_TRIM_PASSES):
        lead_s, tail_s = edge_silence_s(audio, cut_start, audio.size - cut_end)
        if lead_s + tail_s >= (audio.size - cut_start - cut_end) / audio.rate:  # nothing but silence: for the user
            break
        more_start = max(0, round((lead_s - keep_s) * audio.rate))
        more_end = max(0, round((tail_s - keep_s) * audio.rate))
        if not more_start and not more_end:
            break
        cut_start, cut_end = cut_start + more_start, cut_end + more_end
    return cut_start, cut_end


def peak_gain_db(peak: float, peak_dbfs: float = DEFAULT_PEAK_DBFS) -> float:
    """Gain (dB) that puts a highest sample of ``peak`` (full scale 1.0) at ``peak_dbfs``; 0 for silence."""
    return float(peak_dbfs - 20.0 * np.log10(peak)) if peak > 0.0 else 0.0


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float audio to 16-bit integers, rounding to the nearest step."""
    return np.clip(np.round(samples * _PCM16_MAX), -_PCM16_MAX, _PCM16_MAX).astype(np.int16)


def _blocks(audio: AudioTrack | SpooledAudio, first: int, last: int, backward: bool = False) -> Iterator[np.ndarray]:
    """``audio``'s samples ``[first, last)`` :data:`READ_BLOCK` at a time, or backward: the last first, reversed."""
    starts = range(first, last, READ_BLOCK)
    for start in reversed(starts) if backward else starts:
        block = audio.read(start, min(start + READ_BLOCK, last))
        yield block[::-1] if backward else block


def _peak(audio: AudioTrack | SpooledAudio, first: int, last: int) -> float:
    """The highest absolute sample of ``audio``'s ``[first, last)`` (full scale 1.0; 0 for none)."""
    return max((float(np.max(np.abs(block))) for block in _blocks(audio, first, last)), default=0.0)


def _output_pcm(audio: AudioTrack | SpooledAudio, first: int, last: int, gain_db: float) -> Iterator[np.ndarray]:
    """The output's 16-bit samples: ``audio``'s ``[first, last)`` at ``gain_db``, a block at a time."""
    gain = np.float32(10 ** (gain_db / 20.0))
    for block in _blocks(audio, first, last):
        yield to_pcm16(block * gain)


class _OutputMeter:
    """The noise floor and peak (dBFS) of 16-bit output samples as they decode (full scale 32768), measured as
    they pass on their way to the file, so the output is made once."""

    def __init__(self, rate: int) -> None:
        self.levels, self.peak = levels.LevelMeter(rate), 0.0

    def passing(self, pcm_blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for pcm in pcm_blocks:
            decoded = pcm.astype(np.float32) / 32768.0
            self.levels.add(decoded)
            self.peak = max(self.peak, float(np.max(np.abs(decoded), initial=0.0)))
            yield pcm

    def floor_and_peak_dbfs(self) -> tuple[float, float]:
        return levels.noise_floor_dbfs(self.levels.levels_dbfs()), levels.to_dbfs(self.peak)


def prep_audio_file(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *,
                    rate: int = DEFAULT_RATE, peak_dbfs: float = DEFAULT_PEAK_DBFS,
                    max_silence_s: float = MAX_EDGE_SILENCE_S, denoise: bool = True,
                    progress: ProgressFn = no_progress) -> PrepResult:
    """Clean the audio of ``input_path`` and write it as a 16-bit mono PCM WAV at ``rate``.

    Steps: resample (soxr), noise reduction from a profile of the quietest stretches, leading and
    trailing silence cut to ``max_silence_s``, peak normalisation to ``peak_dbfs``; each a pass over a
    temporary file (see the module's notes), so memory stays the same for an hour as for a minute.

    Raises
    ------
    MediaError
        Unreadable or truncated input, no audio, an output that is not ``.wav`` or is the input,
        or parameters out of range.
    """
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    refuse_overwriting_input(output_path, input_path)
    if not output_path.lower().endswith(".wav"):
        raise MediaError(f"{output_path}: prep-audio writes a .wav file")
    if rate not in RATES:
        raise MediaError(f"unsupported output rate {rate} Hz; choose 8000 to 192000")
    if not -60.0 <= peak_dbfs <= 0.0:
        raise MediaError(f"peak {peak_dbfs} dBFS is out of range; choose -60 to 0")
    if not 0.0 <= max_silence_s <= 10.0:
        raise MediaError(f"silence limit {max_silence_s} s is out of range; choose 0 to 10")
    progress(0.0, "decoding audio")
    # Probing refuses a truncated file, which would otherwise decode into a silently shorter clip.
    if not probe(input_path).has_audio:
        raise MediaError(f"{input_path}: has no audio stream")
    with ExitStack() as temporary:
        source = temporary.enter_context(spool_audio(input_path, rate))
        floor_before = levels.noise_floor_dbfs(source.levels_dbfs)
        cleaned, profile_ms = source, 0.0
        if denoise:
            progress(0.3, "reducing noise")
            profile = noise_profile(source)
            profile_ms = profile.size / rate * 1000.0
            cleaned = temporary.enter_context(spool_samples(reduce_noise(source, profile), source,
                                                            f"{input_path}: its cleaned audio"))
        progress(0.7, "trimming and normalising")
        cut_start, cut_end = edge_silence_cuts(cleaned, max_silence_s)
        first, last = cut_start, cleaned.size - cut_end
        gain_db = peak_gain_db(_peak(cleaned, first, last), peak_dbfs)
        with open_container(input_path) as container:
            tags = dict(container.metadata)
        meter = _OutputMeter(rate)
        _write_wav(output_path, meter.passing(_output_pcm(cleaned, first, last, gain_db)), rate, tags)
        floor_after, peak_after = meter.floor_and_peak_dbfs()
    progress(1.0, "done")
    return PrepResult(
        input=input_path, output=output_path, rate=rate, source_rate=source.source_rate,
        source_channels=source.channels, duration_in_s=source.duration_s, duration_out_s=(last - first) / rate,
        noise_floor_before_dbfs=floor_before,
        noise_floor_after_dbfs=floor_after, noise_reduction_db=floor_before - (floor_after - gain_db),
        noise_profile_ms=profile_ms, trimmed_start_ms=cut_start / rate * 1000.0,
        trimmed_end_ms=cut_end / rate * 1000.0, gain_db=gain_db, peak_dbfs=peak_after)


def _write_wav(path: str, pcm_blocks: Iterable[np.ndarray], rate: int, tags: dict[str, str]) -> None:
    with output_file(path) as tmp, av.open(str(tmp), "w", format="wav") as out:
        out.metadata.update(copyable_tags(tags))
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        written = 0
        for pcm in pcm_blocks:
            frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = written
            frame.time_base = Fraction(1, rate)
            written += pcm.size
            for packet in encoded(stream, frame):
                out.mux(packet)
        for packet in encoded(stream, None):
            out.mux(packet)
