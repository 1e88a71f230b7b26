"""Measure what a timeline plays: a clip's own sound in its media, and any other sound against the lips where
the editor hears it.

A clip's own channels are measured in its media file (the report's windows and splices give each cut its own
offset). A long file is analysed only around the ranges the timeline uses, when that answers; the whole
file otherwise. Sound from other media (a recorder's WAV, Synced Audio) has no clock in common with the
picture's file, so it is read through its own file with the item's source offsets, laid on the picture's
media time as the timeline plays it, and measured against the picture's lips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

import numpy as np

from core.analyze import ANALYSIS_RATE, Analysis, AnalysisOptions, analyze_file
from core.decode import AudioTrack, SpooledAudio, spool_audio
from core.errors import MediaError
from core.estimate import EstimatorSettings, estimate_sync
from core.face import FaceTrack
from core.model import Report, SyncResult
from core.probe import probe
from core.progress import ProgressFn, no_progress
from core.tolerance import Tolerance
from plugin.plan import AudioRef, ClipRef

__all__ = ["CONTEXT_S", "Measurer", "spans_to_analyse"]

# Seconds of media analysed on each side of a range the timeline uses: enough speech for a confident reading
# of a short cut (the estimator's blocks are 5 s).
CONTEXT_S = 10.0
# Files shorter than this are always analysed whole.
LONG_FILE_S = 60.0


def spans_to_analyse(ranges: list[tuple[float, float]], duration_s: float) -> list[tuple[float, float]] | None:
    """The stretches of a file to analyse for the media ranges a timeline uses, or None for the whole file.

    Each range gets ``CONTEXT_S`` on both sides; overlapping stretches merge. The whole file is cheaper to
    read in one go when it is short or when the stretches cover half of it.
    """
    if duration_s < LONG_FILE_S or not ranges:
        return None
    merged: list[list[float]] = []
    for start, end in sorted((max(0.0, a - CONTEXT_S), min(duration_s, b + CONTEXT_S)) for a, b in ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if sum(b - a for a, b in merged) >= duration_s / 2:
        return None
    return [(a, b) for a, b in merged]


def _used_range(clip: ClipRef) -> tuple[float, float]:
    return float(clip.timing.media_in_s), float(clip.timing.media_out_s)


class Measurer:
    """Measures the clips of one run, each file analysed once (per stretch).

    Parameters
    ----------
    tolerance : what counts as in sync.
    analyze : measures one media file's own sound (path to Report) instead of the lip analysis; tests use it to
        measure against a reference. Sound measured on the timeline always needs the picture's lips.
    search_ms : the offset searched for first, either way (default the estimator's).

    ``progress`` is told how the analysis of the current clip goes; the caller points it at each clip in turn.
    """

    def __init__(self, tolerance: Tolerance, analyze: Callable[[str], Report] | None = None,
                 search_ms: float | None = None) -> None:
        self.settings = EstimatorSettings(tolerance=tolerance, **({} if search_ms is None else
                                                                  {"search_ms": search_ms}))
        self.analyze = analyze
        self.progress: ProgressFn = no_progress
        self.ranges: dict[str, list[tuple[float, float]]] = {}
        self._analyses: dict[tuple[str, tuple[float, float] | None], Analysis | MediaError] = {}
        self._sounds: dict[tuple[str, tuple[int, ...]], SpooledAudio] = {}
        self._heard: dict[tuple, SyncResult] = {}

    def plan(self, clips: list[ClipRef]) -> None:
        """Note the media ranges the timeline uses of each file, to analyse only around them."""
        for clip in clips:
            self.ranges.setdefault(clip.media_path, []).append(_used_range(clip))

    def _analysis(self, path: str, span: tuple[float, float] | None) -> Analysis:
        key = (path, span)
        if key not in self._analyses:
            try:
                self._analyses[key] = analyze_file(path, AnalysisOptions(estimator=self.settings, span=span),
                                                   progress=self.progress)
            except MediaError as exc:
                self._analyses[key] = exc
        found = self._analyses[key]
        if isinstance(found, MediaError):
            raise found
        return found

    def lips(self, clip: ClipRef) -> Analysis:
        """The analysis of the clip's media, read from around the ranges the timeline uses first when the file
        is long (progressive reading goes on over the rest of the file when that part is not sure enough)."""
        used = _used_range(clip)
        spans = spans_to_analyse(self.ranges.get(clip.media_path, [used]), probe(clip.media_path).duration_s)
        span = next((s for s in spans or [] if s[0] <= used[0] and used[1] <= s[1]), None)
        return self._analysis(clip.media_path, span)

    def lips_between(self, clip: ClipRef, start_s: float, end_s: float) -> FaceTrack:
        """The clip's face over media seconds ``start_s`` to ``end_s``; where the file's reading read no frame
        of that stretch (a long used part read in windows), the stretch is read on its own."""
        analysis = self.lips(clip)
        read = analysis.report.coverage.windows if analysis.report.coverage else [(start_s, end_s)]
        if not any(a < end_s and start_s < b for a, b in read):
            analysis = self._analysis(clip.media_path, (max(start_s - CONTEXT_S, 0.0), end_s + CONTEXT_S))
        return analysis.face.between(start_s, end_s)

    def media(self, clip: ClipRef) -> Report:
        """The measurement of the clip's own sound in its media (raises MediaError for unreadable media)."""
        return self.analyze(clip.media_path) if self.analyze else self.lips(clip).report

    def heard(self, clip: ClipRef, audio: AudioRef) -> SyncResult:
        """The offset of ``audio`` against the clip's lips as the timeline plays them (positive: audio late).

        Raises
        ------
        MediaError
            The picture or the sound cannot be read.
        """
        first, last = max(clip.record_start, audio.record_start), min(clip.record_end, audio.record_end)
        if last - first < 1:
            return SyncResult.inconclusive("the sound does not overlap its picture on the timeline",
                                           tolerance=self.settings.tolerance.name)
        rate = clip.timeline_rate
        picture_in = clip.timing.record_to_seconds(first)
        picture_out = clip.timing.record_to_seconds(last)
        # The file's second heard with each second of the picture's media: the item's source offsets, and a
        # linked file's own offset.
        shift = clip.audio_timing(audio).record_to_seconds(first) - picture_in + audio.sound.file_offset_s
        key = (clip.media_path, audio.sound.path, audio.sound.channels, shift, picture_in, picture_out)
        if key not in self._heard:
            face = self.lips_between(clip, float(picture_in), float(picture_out))
            pad = Fraction(max(self.settings.search_ranges()) / 1000.0)  # room for the widest search
            sound = self._sound(audio.sound.path, audio.sound.channels)
            laid = _laid(sound, picture_in - pad, picture_out + pad, shift)
            self.progress(0.95, "estimating offset")
            self._heard[key] = estimate_sync(face, laid, fps=float(rate), settings=self.settings)
        return self._heard[key]

    def release_sounds(self) -> None:
        """Close the temporary files of the sounds read so far (a recorder's file spools to gigabytes); a later
        measurement that needs one reads it again."""
        for sound in self._sounds.values():
            sound.close()
        self._sounds.clear()

    def _sound(self, path: str, channels: tuple[int, ...]) -> SpooledAudio:
        """The channels ``channels`` of ``path`` (all when empty) mixed to mono at the analysis rate, kept in a
        temporary file (a recorder's file can run for hours) and read back a cut at a time."""
        key = (path, channels)
        if key not in self._sounds:
            self._sounds[key] = spool_audio(path, ANALYSIS_RATE, channels)
        return self._sounds[key]


def _laid(sound: SpooledAudio, start_s: Fraction, end_s: Fraction, shift_s: Fraction) -> AudioTrack:
    """The part of ``sound`` heard while the picture shows media seconds ``start_s`` to ``end_s``, on the
    picture's media time (file second = picture second + ``shift_s``); silence where the file has nothing."""
    first = round((float(start_s + shift_s) - sound.start_s) * sound.rate)
    count = round(float(end_s - start_s) * sound.rate)
    part = sound.between(sound.start_s + first / sound.rate, sound.start_s + (first + count) / sound.rate)
    out = np.zeros(count, np.float32)
    lo = max(first, 0)
    out[lo - first:lo - first + part.samples.size] = part.samples
    return replace(part, samples=out, start_s=float(start_s))
