"""Face landmarks per frame (MediaPipe Face Mesh) reduced to mouth shape and framing measures.

Only a few numbers per frame are kept, so a long clip costs little memory. Mouth measures are
divided by the distance between the outer eye corners, which makes them independent of how
large the face is in the frame and of in-plane head rotation. A frame without a usable face has
NaN measures, never zeros, so later stages can tell "mouth closed" from "no mouth seen".
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from queue import Empty

import numpy as np

from core.decode import VideoFrame, iter_video_frames
from core.progress import ProgressFn, no_progress
from core.stopping import ending_with_run, follow_parent

# Face Mesh (468-point) indices.
_EYE_OUTER = (33, 263)
_NOSE_TIP = 1
_CHIN = 152
_INNER_PAIRS = ((13, 14), (82, 87), (312, 317))
_OUTER_PAIR = (0, 17)
_INNER_CORNERS = (78, 308)
_OUTER_CORNERS = (61, 291)
_INNER_CONTOUR = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
_FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
              176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
_USED = sorted({*_EYE_OUTER, _NOSE_TIP, _CHIN, *_OUTER_PAIR, *_INNER_CORNERS, *_OUTER_CORNERS,
                *(i for pair in _INNER_PAIRS for i in pair), *_INNER_CONTOUR, *_FACE_OVAL})

MOUTH_FEATURES = ("inner_aperture", "outer_aperture", "inner_width", "outer_width", "inner_area", "jaw_drop")


@dataclass(frozen=True)
class FaceTrack:
    """Per-frame face measures of one clip (arrays of equal length, one entry per decoded frame).

    Attributes
    ----------
    time_s : (n,) float64, presentation time of each frame.
    face_count : (n,) int16, faces in view, counted every ``count_every_s`` (see :func:`track_face`).
    mouth : (n, len(MOUTH_FEATURES)) float32, mouth shape of the main face in eye-distance units,
        NaN where no face was found.
    box : (n, 4) float32, the main face's landmark extent (x0, y0, x1, y1) as fractions of the
        frame; values outside [0, 1] mean the face runs off the frame edge. NaN without a face.
    eye_distance_px : (n,) float32, outer-eye-corner distance in source pixels.
    yaw : (n,) float32, nose offset from the eye midline in eye-distance units (0 is frontal).
    frame_width, frame_height : source frame size in pixels.
    """

    time_s: np.ndarray
    face_count: np.ndarray
    mouth: np.ndarray
    box: np.ndarray
    eye_distance_px: np.ndarray
    yaw: np.ndarray
    frame_width: int
    frame_height: int

    @property
    def found(self) -> np.ndarray:
        """Frames in which the main face was measured."""
        return np.isfinite(self.mouth[:, 0])


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence MediaPipe's C++ logging, which writes straight to file descriptor 2 from its threads.

    Python's own ``sys.stderr`` keeps working inside the block (it is pointed at a copy of the real
    descriptor), so progress bars and error messages still show.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=python_stderr.encoding or "utf-8")
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        sys.stderr.close()
        sys.stderr = python_stderr
        os.close(saved)
        os.close(devnull)


def mouth_measures(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Mouth shape from one face's landmarks.

    Parameters
    ----------
    points : (468, 2) array
        Landmark positions in pixels (x right, y down).

    Returns
    -------
    measures : (len(MOUTH_FEATURES),) float32
        Inner and outer lip aperture, inner and outer mouth width, inner-lip area (in squared eye
        distances) and nose-to-chin distance, all divided by the eye distance.
    eye_distance : float
        Outer-eye-corner distance in pixels.
    """
    def dist(a: int, b: int) -> float:
        return float(np.hypot(*(points[a] - points[b])))

    eye = dist(*_EYE_OUTER)
    if eye <= 0:
        return np.full(len(MOUTH_FEATURES), np.nan, np.float32), 0.0
    contour = points[list(_INNER_CONTOUR)]
    x, y = contour[:, 0], contour[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    values = (
        np.mean([dist(a, b) for a, b in _INNER_PAIRS]) / eye,
        dist(*_OUTER_PAIR) / eye,
        dist(*_INNER_CORNERS) / eye,
        dist(*_OUTER_CORNERS) / eye,
        area / eye**2,
        dist(_NOSE_TIP, _CHIN) / eye,
    )
    return np.asarray(values, np.float32), eye


def _landmarks(result: object) -> list[np.ndarray]:
    """Faces in a Face Mesh result as (468, 2) arrays holding only the landmarks LipAlign reads (NaN elsewhere).

    Copying a landmark out of its protobuf costs about a microsecond; all 468 cost more per frame than
    the decoding of the frame.
    """
    faces = []
    for face in getattr(result, "multi_face_landmarks", None) or []:
        points = np.full((468, 2), np.nan, np.float32)
        marks = face.landmark
        for i in _USED:
            points[i] = marks[i].x, marks[i].y
        faces.append(points)
    return faces


class FaceMeshTracker:
    """Follows one main face through consecutive frames with MediaPipe Face Mesh.

    Tracking a single face lets Face Mesh skip face detection on most frames (a second tracked face
    would force detection on every frame while only one is present, which costs 70 % more). Faces
    are counted separately, on a sample of frames, by :meth:`count_faces`.
    """

    def __init__(self) -> None:
        import mediapipe as mp  # deferred: importing it takes half a second

        face_mesh = mp.solutions.face_mesh
        self._mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                        min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._counter = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=4, refine_landmarks=False,
                                           min_detection_confidence=0.5)

    def close(self) -> None:
        self._mesh.close()
        self._counter.close()

    def __enter__(self) -> FaceMeshTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def main_face(self, image: np.ndarray) -> np.ndarray | None:
        """The tracked face in an RGB frame as (468, 2) positions in fractions of the frame, or None."""
        faces = _landmarks(self._mesh.process(image))
        return faces[0] if faces else None

    def count_faces(self, image: np.ndarray) -> int:
        """How many faces are in an RGB frame (detected afresh, independent of tracking)."""
        return len(getattr(self._counter.process(image), "multi_face_landmarks", None) or [])


def track_face(frames: Iterable[VideoFrame], source_size: tuple[int, int],
               count_every_s: float = 1.0) -> FaceTrack:
    """Measure the main face in every frame.

    Parameters
    ----------
    frames : iterable of VideoFrame
        Frames in presentation order (possibly downscaled).
    source_size : (width, height)
        The stream's own frame size, so pixel measures refer to the source, not the downscale.
    count_every_s : float
        Seconds between face counts; frames in between repeat the last count (-1 before the first).
    """
    width, height = source_size
    times: list[float] = []
    counts: list[int] = []
    mouths: list[np.ndarray] = []
    boxes: list[np.ndarray] = []
    eyes: list[float] = []
    yaws: list[float] = []
    nan_box = np.full(4, np.nan, np.float32)
    scale = np.array([width, height], np.float32)
    last_count, next_count_s = -1, -np.inf
    with quiet_native_stderr(), FaceMeshTracker() as tracker:
        for frame in frames:
            if frame.time_s >= next_count_s:
                last_count, next_count_s = tracker.count_faces(frame.image), frame.time_s + count_every_s
            normalised = tracker.main_face(frame.image)
            main = None if normalised is None else normalised * scale
            times.append(frame.time_s)
            counts.append(last_count)
            if main is None:
                mouths.append(np.full(len(MOUTH_FEATURES), np.nan, np.float32))
                boxes.append(nan_box)
                eyes.append(np.nan)
                yaws.append(np.nan)
                continue
            measures, eye = mouth_measures(main)
            mouths.append(measures)
            eyes.append(eye)
            outline = main[list(_FACE_OVAL)]  # the mesh's outer boundary: its extent is the face's
            lo, hi = outline.min(axis=0), outline.max(axis=0)
            boxes.append(np.array([lo[0] / width, lo[1] / height, hi[0] / width, hi[1] / height], np.float32))
            eye_mid = (main[_EYE_OUTER[0]] + main[_EYE_OUTER[1]]) / 2
            yaws.append(float((main[_NOSE_TIP][0] - eye_mid[0]) / eye) if eye > 0 else np.nan)
    n = len(times)
    return FaceTrack(
        time_s=np.asarray(times, np.float64),
        face_count=np.asarray(counts, np.int16),
        mouth=np.asarray(mouths, np.float32).reshape(n, len(MOUTH_FEATURES)),
        box=np.asarray(boxes, np.float32).reshape(n, 4),
        eye_distance_px=np.asarray(eyes, np.float32),
        yaw=np.asarray(yaws, np.float32),
        frame_width=width,
        frame_height=height,
    )


# Clips at least this long are tracked in parallel, one time span per core: starting another
# process costs about two seconds of imports, which only pays off on longer clips.
PARALLEL_MIN_S = 20.0
_progress_queue = None


def _init_worker(queue: object) -> None:
    global _progress_queue
    _progress_queue = queue
    follow_parent()


def _track_span(path: str, source_size: tuple[int, int], start_s: float, end_s: float | None) -> FaceTrack:
    def counted() -> Iterator[VideoFrame]:
        for index, frame in enumerate(iter_video_frames(path, start_s=start_s, end_s=end_s), 1):
            if index % 25 == 0 and _progress_queue is not None:
                _progress_queue.put(25)
            yield frame

    return track_face(counted(), source_size)


def concatenate_tracks(tracks: list[FaceTrack]) -> FaceTrack:
    """Face tracks of consecutive spans of one clip joined into one."""
    first = tracks[0]
    return FaceTrack(*(np.concatenate([getattr(t, name) for t in tracks]) for name in
                       ("time_s", "face_count", "mouth", "box", "eye_distance_px", "yaw")),
                     frame_width=first.frame_width, frame_height=first.frame_height)


def track_face_in_file(path: str, source_size: tuple[int, int], *, duration_s: float, frame_count: int,
                       progress: ProgressFn = no_progress, workers: int | None = None) -> FaceTrack:
    """Measure the main face in every frame of ``path``, splitting long clips across processes.

    Parameters
    ----------
    path : str, media file.
    source_size : (width, height) of the video stream.
    duration_s, frame_count : float, int, from the probe (for the split and for progress).
    progress : called with the share of frames done.
    workers : processes to use; default one per core for clips of ``PARALLEL_MIN_S`` or more.
    """
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if duration_s >= PARALLEL_MIN_S else 1
    total = max(frame_count, 1)
    if workers <= 1:
        def counted() -> Iterator[VideoFrame]:
            for index, frame in enumerate(iter_video_frames(path)):
                if index % 25 == 0:
                    progress(index / total, "tracking lips")
                yield frame

        return track_face(counted(), source_size)
    bounds = [duration_s * k / workers for k in range(workers)] + [None]
    context = multiprocessing.get_context("spawn")  # MediaPipe's threads do not survive a fork
    queue = context.Queue()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(queue,)) as pool, \
            ending_with_run(pool):
        futures = [pool.submit(_track_span, path, source_size, bounds[k], bounds[k + 1]) for k in range(workers)]
        done = 0
        while not all(f.done() for f in futures):
            try:
                done += queue.get(timeout=0.2)
                progress(done / total, "tracking lips")
            except Empty:
                pass
        return concatenate_tracks([f.result() for f in futures])
