"""One file through the whole pipeline: probe, decode, face and audio features, estimate, diagnose, report.

Long files are read progressively (:mod:`core.progressive`) unless every frame is asked for."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from core.decode import SpooledAudio, iter_video_frames, key_frame_before, spool_audio
from core.diagnose import diagnose
from core.errors import MediaError
from core.estimate import EstimatorSettings, estimate_faces
from core.estimate.sync import Excerpt, estimate_excerpts
from core.face import (
    FaceRegion,
    FaceTrack,
    concatenate_tracks,
    counted_frames,
    find_faces,
    track_face,
    track_faces_in_file,
)
from core.model import Coverage, MediaInfo, Report, SyncResult
from core.probe import probe
from core.progress import ProgressFn, no_progress, progress_part
from core.progressive import PROGRESSIVE_MIN_S, Window, measure_progressively, plan_windows, speech_per_second
from core.report import fix_from_sync

__all__ = ["ANALYSIS_RATE", "Analysis", "AnalysisOptions", "analyze_file"]

ANALYSIS_RATE = 16000  # Hz: speech features need nothing above 8 kHz


@dataclass(frozen=True)
class AnalysisOptions:
    """What ``lipalign analyze`` can be told.

    ``full`` reads every frame; otherwise files of :data:`~core.progressive.PROGRESSIVE_MIN_S` or more are read
    progressively (:mod:`core.progressive`): windows spread over the file until the answer is sure enough.
    ``span`` is the part of the file that matters most, in media seconds ``(start, end)`` (the part a timeline
    uses): progressive reading starts there, and a full reading reads only it (its audio keeps the search range
    on each side). ``processes`` is how many processes may track faces in a full reading (default one per
    core for long clips); a batch that already runs one file per process sets 1.
    """

    estimator: EstimatorSettings = field(default_factory=EstimatorSettings)
    project_rate: int = 48000
    span: tuple[float, float] | None = None
    processes: int | None = None
    full: bool = False


@dataclass(frozen=True)
class Analysis:
    """The report plus the intermediate measurements, for callers that need more than the report.

    ``face`` holds the measured face over the frames that were read (all of them, or the windows).
    """

    report: Report
    face: FaceTrack


def analyze_file(path: str | os.PathLike[str], options: AnalysisOptions | None = None,
                 progress: ProgressFn = no_progress) -> Analysis:
    """Measure lip sync and run the diagnostics on one file.

    Raises
    ------
    MediaError
        The file is missing, not media, or lacks an audio or a video stream.
    """
    options = options or AnalysisOptions()
    path = os.fspath(path)
    media = probe(path)
    if not media.has_video:
        raise MediaError(f"{path}: has no video stream")
    if not media.has_audio:
        raise MediaError(f"{path}: has no audio stream")
    progress(0.0, "decoding audio")
    fps = media.fps_measured or media.fps_declared or 25.0
    reach_s = max(options.estimator.search_ranges()) / 1000.0  # room for the widest search on each side
    with spool_audio(path, ANALYSIS_RATE) as audio:
        if options.full or (options.span is None and media.duration_s < PROGRESSIVE_MIN_S):
            sync, face, coverage = _read_whole(path, media, audio, options, reach_s,
                                               progress_part(progress, 0.05, 0.9))
        else:
            sync, face, coverage = _read_progressively(path, media, audio, options, reach_s,
                                                       progress_part(progress, 0.05, 0.9))
        progress(0.9, "diagnosing")
        diagnostics = diagnose(media, audio, face, project_rate=options.project_rate)
    progress(1.0, "done")
    report = Report(file=path, media=media, sync=sync, diagnostics=diagnostics, fix=fix_from_sync(sync, fps),
                    coverage=coverage)
    return Analysis(report, face)


def _read_whole(path: str, media: MediaInfo, audio: SpooledAudio, options: AnalysisOptions, reach_s: float,
                progress: ProgressFn) -> tuple[SyncResult, FaceTrack, Coverage]:
    """Every frame of the file, or of ``options.span``."""
    if options.span is None:
        faces = track_faces_in_file(path, media.display_size, duration_s=media.duration_s,
                                    frame_count=media.frame_count, workers=options.processes, progress=progress)
        around = audio.whole()
        read = [(0.0, media.duration_s)]
    else:
        start_s, end_s = options.span
        regions: list[FaceRegion | None] = list(find_faces(path, media.duration_s,
                                                           progress=progress_part(progress, 0.0, 0.05)))
        regions = regions or [None]
        span_frames = round((end_s - start_s) * (media.fps_declared or 25.0))
        faces = [track_face(counted_frames(iter_video_frames(path, start_s=start_s, end_s=end_s), span_frames,
                                           progress_part(progress, 0.05 + 0.95 * k / len(regions),
                                                         0.05 + 0.95 * (k + 1) / len(regions))),
                            media.display_size, region=region)
                 for k, region in enumerate(regions)]
        around = audio.between(start_s - reach_s, end_s + reach_s)
        read = [(start_s, end_s)]
    if faces[0].time_s.size == 0:
        raise MediaError(f"{path}: no video frame could be decoded")
    fps = media.fps_measured or media.fps_declared or 25.0
    sync, chosen = estimate_faces(faces, around, fps=fps, settings=options.estimator)
    return sync, faces[chosen], Coverage("full", media.duration_s, read)


def _read_progressively(path: str, media: MediaInfo, audio: SpooledAudio, options: AnalysisOptions, reach_s: float,
                        progress: ProgressFn) -> tuple[SyncResult, FaceTrack, Coverage]:
    """Windows spread over the file (``options.span`` first), until the answer is sure enough."""
    regions: list[FaceRegion | None] = list(find_faces(path, media.duration_s,
                                                       progress=progress_part(progress, 0.0, 0.05)))
    regions = regions or [None]
    fps = media.fps_measured or media.fps_declared or 25.0
    plan = plan_windows(speech_per_second(audio, media.duration_s), media.duration_s, first=options.span)
    spans: list[tuple[float, float]] = []
    decoded: list[int] = []

    def read(window: Window, progress: ProgressFn) -> tuple[Window, list[Excerpt]]:
        start_s, end_s = _from_key_frame(path, window, spans)
        spans.append((start_s, end_s))
        around = audio.between(start_s - reach_s, end_s + reach_s)
        expected = round((end_s - start_s) * (media.fps_declared or fps))
        faces = [track_face(counted_frames(iter_video_frames(path, start_s=start_s, end_s=end_s), expected,
                                           progress_part(progress, k / len(regions), (k + 1) / len(regions))),
                            media.display_size, region=region) for k, region in enumerate(regions)]
        decoded.append(faces[0].time_s.size)
        return Window(start_s, end_s), [Excerpt(face, around) for face in faces]

    def estimate(faces: list[list[Excerpt]]) -> tuple[SyncResult, int]:
        return estimate_excerpts(faces, fps=fps, settings=options.estimator)

    outcome = measure_progressively(plan, read, estimate, span=options.span or (0.0, media.duration_s), fps=fps,
                                    progress=progress_part(progress, 0.05, 1.0))
    if not any(decoded):
        raise MediaError(f"{path}: no video frame could be decoded")
    face = concatenate_tracks([e.face for e in outcome.excerpts])
    return outcome.result, face, Coverage("progressive", media.duration_s, spans)


def _from_key_frame(path: str, window: Window, taken: list[tuple[float, float]]) -> tuple[float, float]:
    """``window`` moved back to start at the key frame before it, so no frame is decoded only to be skipped;
    kept where it is when that is more than a window back or would overlap a window already read."""
    key_s = key_frame_before(path, window.start_s)
    if key_s is None or window.start_s - key_s > window.duration_s:
        return window.start_s, window.end_s
    moved = (key_s, key_s + window.duration_s)
    if any(moved[0] < end and start < moved[1] for start, end in taken):
        return window.start_s, window.end_s
    return moved
