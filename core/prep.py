"""Cleaning a source's audio before it goes to a lip-sync generator: denoise, trim, normalise, 16-bit mono WAV.

Silence and noise are judged with :mod:`core.levels`, the same measures the pre-flight diagnostics use.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction

import av
import noisereduce
import numpy as np

from core import levels
from core.decode import decode_audio
from core.errors import MediaError
from core.fileio import output_file, refuse_overwriting_input
from core.mux import copyable_tags
from core.probe import open_container, probe
from core.progress import ProgressFn, no_progress

__all__ = ["DEFAULT_PEAK_DBFS", "DEFAULT_RATE", "MAX_EDGE_SILENCE_S", "PrepResult", "edge_silence_s", "noise_profile",
           "normalize_peak", "prep_audio_file", "reduce_noise", "to_pcm16", "trim_edge_silence"]

DEFAULT_RATE = 22050  # Hz: what most lip-sync generators expect
DEFAULT_PEAK_DBFS = -3.0
MAX_EDGE_SILENCE_S = 0.2
# The noise profile: the quietest level frames, this share of the clip but at least MIN_PROFILE_S.
PROFILE_SHARE = 0.1
MIN_PROFILE_S = 0.25
# Trimming edge silence converges in one or two passes; this bounds it on pathological input.
MAX_TRIM_PASSES = 5
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


def noise_profile(samples: np.ndarray, rate: int, share: float = PROFILE_SHARE,
                  min_s: float = MIN_PROFILE_S) -> np.ndarray:
    """The quietest stretches of ``samples`` joined together: what the recording sounds like when nobody speaks.

    Parameters
    ----------
    samples : np.ndarray
        Mono audio, full scale 1.0.
    rate : int
        Sample rate, Hz.
    share, min_s : float
        Take the quietest :data:`core.levels.LEVEL_FRAME_S` frames making up this share of the clip,
        and at least ``min_s`` seconds.
    """
    size = max(1, round(levels.LEVEL_FRAME_S * rate))
    frame_levels = levels.frame_levels_dbfs(samples, rate)
    count = min(frame_levels.size, max(round(share * frame_levels.size), int(np.ceil(min_s * rate / size))))
    quietest = np.sort(np.argsort(frame_levels, kind="stable")[:count])
    if quietest.size == 0:
        return samples.copy()
    return np.concatenate([samples[i * size:(i + 1) * size] for i in quietest])


def reduce_noise(samples: np.ndarray, rate: int, profile: np.ndarray) -> np.ndarray:
    """Spectral-gate noise reduction against a noise ``profile`` (stationary noise, as in a room or a hum)."""
    cleaned = noisereduce.reduce_noise(y=samples, sr=rate, y_noise=profile, stationary=True, n_jobs=1)
    return np.asarray(cleaned, dtype=np.float32)


def edge_silence_s(samples: np.ndarray, rate: int) -> tuple[float, float]:
    """Seconds of silence before the first and after the last sound."""
    return (levels.leading_silence_s(levels.frame_levels_dbfs(samples, rate)),
            levels.leading_silence_s(levels.frame_levels_dbfs(samples[::-1], rate)))


def trim_edge_silence(samples: np.ndarray, rate: int,
                      keep_s: float = MAX_EDGE_SILENCE_S) -> tuple[np.ndarray, int, int]:
    """Cut leading and trailing silence down to ``keep_s`` seconds; return (audio, samples cut at start, at end).

    The silence threshold adapts to the recording's floor and speech level, and cutting long silent edges
    moves both, so stretches that counted as sound before a cut can count as silence after it (measured on
    the VisualVoice interview: 0.3 s of tail silence left after one pass). The cut is repeated on its own
    result until the output, measured as it is, meets the limit.
    """
    cut_start = cut_end = 0
    for _ in range(MAX_TRIM_PASSES):
        trimmed = samples[cut_start:samples.size - cut_end]
        lead_s, tail_s = edge_silence_s(trimmed, rate)
        if lead_s + tail_s >= trimmed.size / rate:  # nothing but silence: leave it for the user to judge
            break
        more_start = max(0, round((lead_s - keep_s) * rate))
        more_end = max(0, round((tail_s - keep_s) * rate))
        if not more_start and not more_end:
            break
        cut_start, cut_end = cut_start + more_start, cut_end + more_end
    return samples[cut_start:samples.size - cut_end], cut_start, cut_end


def normalize_peak(samples: np.ndarray, peak_dbfs: float = DEFAULT_PEAK_DBFS) -> tuple[np.ndarray, float]:
    """Scale so the highest sample is at ``peak_dbfs``; return (audio, gain in dB)."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0.0:
        return samples, 0.0
    gain_db = peak_dbfs - 20.0 * np.log10(peak)
    return (samples * np.float32(10 ** (gain_db / 20.0))).astype(np.float32), float(gain_db)


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Float audio to 16-bit integers, rounding to the nearest step."""
    return np.clip(np.round(samples * _PCM16_MAX), -_PCM16_MAX, _PCM16_MAX).astype(np.int16)


def prep_audio_file(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *,
                    rate: int = DEFAULT_RATE, peak_dbfs: float = DEFAULT_PEAK_DBFS,
                    max_silence_s: float = MAX_EDGE_SILENCE_S, denoise: bool = True,
                    progress: ProgressFn = no_progress) -> PrepResult:
    """Clean the audio of ``input_path`` and write it as a 16-bit mono PCM WAV at ``rate``.

    Steps: resample (soxr), noise reduction from a profile of the quietest stretches, leading and
    trailing silence cut to ``max_silence_s``, peak normalisation to ``peak_dbfs``.

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
    track = decode_audio(input_path, rate)
    audio = track.samples
    floor_before = levels.noise_floor_dbfs(levels.frame_levels_dbfs(audio, rate))
    profile_ms = 0.0
    if denoise:
        progress(0.3, "reducing noise")
        profile = noise_profile(audio, rate)
        profile_ms = profile.size / rate * 1000.0
        audio = reduce_noise(audio, rate, profile)
    progress(0.7, "trimming and normalising")
    audio, cut_start, cut_end = trim_edge_silence(audio, rate, max_silence_s)
    audio, gain_db = normalize_peak(audio, peak_dbfs)
    pcm = to_pcm16(audio)
    with open_container(input_path) as source:
        tags = dict(source.metadata)
    _write_wav(output_path, pcm, rate, tags)
    final = pcm.astype(np.float32) / 32768.0
    floor_after = levels.noise_floor_dbfs(levels.frame_levels_dbfs(final, rate))
    progress(1.0, "done")
    return PrepResult(
        input=input_path, output=output_path, rate=rate, source_rate=track.source_rate,
        source_channels=track.channels, duration_in_s=track.duration_s, duration_out_s=final.size / rate,
        noise_floor_before_dbfs=floor_before,
        noise_floor_after_dbfs=floor_after, noise_reduction_db=floor_before - (floor_after - gain_db),
        noise_profile_ms=profile_ms, trimmed_start_ms=cut_start / rate * 1000.0,
        trimmed_end_ms=cut_end / rate * 1000.0, gain_db=gain_db, peak_dbfs=levels.peak_dbfs(final))


def _write_wav(path: str, pcm: np.ndarray, rate: int, tags: dict[str, str]) -> None:
    with output_file(path) as tmp, av.open(str(tmp), "w", format="wav") as out:
        out.metadata.update(copyable_tags(tags))
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        block = 8192
        for start in range(0, pcm.size, block):
            frame = av.AudioFrame.from_ndarray(pcm[None, start:start + block], format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
