"""One file through the whole pipeline: probe, decode, face and audio features, estimate, diagnose, report."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from core.decode import AudioTrack, decode_audio, iter_video_frames
from core.diagnose import diagnose
from core.errors import MediaError
from core.estimate import EstimatorSettings, estimate_faces
from core.face import FaceRegion, FaceTrack, counted_frames, find_faces, track_face, track_faces_in_file
from core.model import Report
from core.probe import probe
from core.progress import ProgressFn, no_progress, progress_part
from core.report import fix_from_sync

ANALYSIS_RATE = 16000  # Hz: speech features need nothing above 8 kHz


@dataclass(frozen=True)
class AnalysisOptions:
    """What ``lipalign analyze`` can be told.

    ``span`` limits the measurement to media seconds ``(start, end)`` of a long file (the Resolve plugin measures
    only around the parts a timeline uses); the audio keeps the search range on each side of it. ``processes``
    is how many processes may track faces (default one per core for long clips); a batch that already runs
    one file per process sets 1.
    """

    estimator: EstimatorSettings = field(default_factory=EstimatorSettings)
    project_rate: int = 48000
    span: tuple[float, float] | None = None
    processes: int | None = None


@dataclass(frozen=True)
class Analysis:
    """The report plus the intermediate measurements, for callers that need more than the report."""

    report: Report
    face: FaceTrack
    audio: AudioTrack


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
    audio = decode_audio(path, ANALYSIS_RATE)
    if options.span is None:
        faces = track_faces_in_file(path, media.display_size, duration_s=media.duration_s,
                                    frame_count=media.frame_count, workers=options.processes,
                                    progress=progress_part(progress, 0.05, 0.9))
    else:
        start_s, end_s = options.span
        regions: list[FaceRegion | None] = list(find_faces(path, media.duration_s,
                                                           progress=progress_part(progress, 0.05, 0.1)))
        regions = regions or [None]
        span_frames = round((end_s - start_s) * (media.fps_declared or 25.0))
        faces = [track_face(counted_frames(iter_video_frames(path, start_s=start_s, end_s=end_s), span_frames,
                                           progress_part(progress, 0.1 + 0.8 * k / len(regions),
                                                         0.1 + 0.8 * (k + 1) / len(regions))),
                            media.display_size, region=region)
                 for k, region in enumerate(regions)]
        reach_s = max(options.estimator.search_ranges()) / 1000.0  # room for the widest search on each side
        audio = audio_between(audio, start_s - reach_s, end_s + reach_s)
    if faces[0].time_s.size == 0:
        raise MediaError(f"{path}: no video frame could be decoded")
    progress(0.9, "estimating offset")
    fps = media.fps_measured or media.fps_declared or 25.0
    sync, chosen = estimate_faces(faces, audio, fps=fps, settings=options.estimator)
    face = faces[chosen]
    diagnostics = diagnose(media, audio, face, project_rate=options.project_rate)
    progress(1.0, "done")
    report = Report(file=path, media=media, sync=sync, diagnostics=diagnostics, fix=fix_from_sync(sync, fps))
    return Analysis(report, face, audio)


def audio_between(audio: AudioTrack, start_s: float, end_s: float) -> AudioTrack:
    """The part of ``audio`` between media seconds ``start_s`` and ``end_s`` (clipped to what there is)."""
    first = min(max(round((start_s - audio.start_s) * audio.rate), 0), audio.samples.size)
    last = min(max(round((end_s - audio.start_s) * audio.rate), first), audio.samples.size)
    return replace(audio, samples=audio.samples[first:last], start_s=audio.start_s + first / audio.rate)
