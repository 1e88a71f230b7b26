"""Faces per frame (MediaPipe Face Mesh) reduced to mouth shape, mouth appearance and framing measures.

Only a few numbers per frame are kept, so a long clip costs little memory. Mouth shape is measured
from landmarks and divided by the distance between the outer eye corners, which makes it independent
of how large the face is in the frame and of in-plane head rotation. Mouth appearance is read from a
small patch of the picture cut out along the lips (teeth, tongue and the dark of an open mouth, which
landmarks do not see). A frame without a usable face has NaN measures, never zeros, so later stages
can tell "mouth closed" from "no mouth seen".

When several faces share the picture (split-screen interviews, debates), each is tracked in its own
region of the frame (:func:`find_faces`), so the estimator can measure every mouth against the sound
and use the one that matches.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from queue import Empty

import cv2
import numpy as np
from scipy.fft import dctn

from core.decode import VideoFrame, decoded_ahead, iter_video_frames
from core.errors import MediaError
from core.progress import ProgressFn, no_progress, progress_part
from core.stopping import ending_with_run, follow_parent

__all__ = ["MAX_FACES", "MOUTH_FEATURES", "MOUTH_LOOK", "MOUTH_SHAPE", "FaceMeshTracker", "FaceRegion", "FaceTrack",
           "concatenate_tracks", "counted_frames", "face_box", "find_faces", "mouth_look", "mouth_patch_warp",
           "mouth_shape", "quiet_native_stderr", "track_face", "track_face_in_file", "track_faces_in_file"]

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

MOUTH_SHAPE = ("inner_aperture", "outer_aperture", "inner_width", "outer_width", "inner_area", "jaw_drop",
               "upper_lip", "lower_lip", "corner_lift", "lip_depth")
# The mouth patch: PATCH_W x PATCH_H pixels spanning one eye distance across the lips, centred between them.
PATCH_W, PATCH_H = 32, 16
# Low-order 2-D cosine components of the patch kept (rows x columns, less the constant one): coarse
# light and dark structure (an open mouth, teeth, a lip pulled in) without pixel noise.
LOOK_ROWS, LOOK_COLUMNS = 4, 6
MOUTH_LOOK = (*(f"look_{i}" for i in range(1, LOOK_ROWS * LOOK_COLUMNS)), "inner_darkness")
MOUTH_FEATURES = MOUTH_SHAPE + MOUTH_LOOK
# Faces counted (and tracked in regions of their own) at most.
MAX_FACES = 4


@dataclass(frozen=True)
class FaceTrack:
    """Per-frame face measures of one face in one clip (arrays of equal length, one entry per decoded frame).

    Attributes
    ----------
    time_s : (n,) float64, presentation time of each frame.
    face_count : (n,) int16, faces in view, counted every ``count_every_s`` (see :func:`track_face`).
    mouth : (n, len(MOUTH_FEATURES)) float32, mouth shape (:func:`mouth_shape`) then appearance
        (:func:`mouth_look`) of the face, NaN where no face was found.
    box : (n, 4) float32, the face's landmark extent (x0, y0, x1, y1) as fractions of the frame;
        values outside [0, 1] mean the face runs off the frame edge. NaN without a face.
    eye_distance_px : (n,) float32, outer-eye-corner distance in source pixels.
    yaw : (n,) float32, nose offset from the eye midline in eye-distance units (0 is frontal).
    frame_width, frame_height : source frame size in pixels (as a player shows the picture).
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
        """Frames in which the face was measured."""
        return np.isfinite(self.mouth[:, 0])

    def between(self, start_s: float, end_s: float) -> FaceTrack:
        """The frames shown at ``start_s <= time < end_s``."""
        inside = (self.time_s >= start_s) & (self.time_s < end_s)
        return FaceTrack(*(getattr(self, name)[inside] for name in
                           ("time_s", "face_count", "mouth", "box", "eye_distance_px", "yaw")),
                         frame_width=self.frame_width, frame_height=self.frame_height)

    def typical_box(self) -> list[float] | None:
        """The face's median box (x0, y0, x1, y1, fractions of the frame), or None if it was never found."""
        if not self.found.any():
            return None
        return [round(float(v), 3) for v in np.median(self.box[self.found], axis=0)]


@dataclass(frozen=True)
class FaceRegion:
    """Where one of several faces stays in the frame, as fractions of it (x0, y0, x1, y1).

    ``others`` are the boxes of the other faces, blanked in the region's picture so the tracker cannot
    follow the wrong person.
    """

    box: tuple[float, float, float, float]
    others: tuple[tuple[float, float, float, float], ...] = field(default_factory=tuple)

    @classmethod
    def around(cls, box: tuple[float, ...], others: tuple[tuple[float, float, float, float], ...] = ()
               ) -> FaceRegion:
        """The region of a face seen within ``box``: the box grown by :data:`REGION_MARGIN` of its size on
        every side."""
        x0, y0, x1, y1 = (float(v) for v in box)
        mx, my = REGION_MARGIN * (x1 - x0), REGION_MARGIN * (y1 - y0)
        return cls((x0 - mx, y0 - my, x1 + mx, y1 + my), others)

    def picture(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The part of ``image`` the region covers, other faces blanked; and its top-left corner in pixels
        (x, y)."""
        height, width = image.shape[:2]
        x0, y0, x1, y1 = self.box
        left, top = int(np.floor(max(0.0, x0) * width)), int(np.floor(max(0.0, y0) * height))
        right, bottom = int(np.ceil(min(1.0, x1) * width)), int(np.ceil(min(1.0, y1) * height))
        picture = image[top:bottom, left:right].copy()
        for ox0, oy0, ox1, oy1 in self.others:
            a, b = int(ox0 * width) - left, int(oy0 * height) - top
            c, d = int(np.ceil(ox1 * width)) - left, int(np.ceil(oy1 * height)) - top
            picture[max(b, 0):max(d, 0), max(a, 0):max(c, 0)] = 128
        return picture, np.array([left, top], np.float32)


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


def mouth_shape(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Mouth shape from one face's landmarks.

    Parameters
    ----------
    points : (468, 2) or (468, 3) array
        Landmark positions in pixels (x right, y down; z towards the camera's far side, in the same
        units as x, where known).

    Returns
    -------
    measures : (len(MOUTH_SHAPE),) float32
        Inner and outer lip aperture, inner and outer mouth width, inner-lip area (in squared eye
        distances), nose-to-chin distance, upper and lower lip thickness, how far the mouth corners
        sit below the lips' middle, and how far the lips stand in front of the nose tip (0 without z;
        rounded lips for /u/ and /o/ push forward), all divided by the eye distance.
    eye_distance : float
        Outer-eye-corner distance in pixels.
    """
    def dist(a: int, b: int) -> float:
        return float(np.hypot(*(points[a, :2] - points[b, :2])))

    eye = dist(*_EYE_OUTER)
    if eye <= 0:
        return np.full(len(MOUTH_SHAPE), np.nan, np.float32), 0.0
    contour = points[list(_INNER_CONTOUR), :2]
    x, y = contour[:, 0], contour[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
    lips_middle_y = (points[13, 1] + points[14, 1]) / 2
    corners_y = (points[_OUTER_CORNERS[0], 1] + points[_OUTER_CORNERS[1], 1]) / 2
    depth = (points[_NOSE_TIP, 2] - (points[0, 2] + points[17, 2]) / 2) if points.shape[1] > 2 else 0.0
    values = (
        np.mean([dist(a, b) for a, b in _INNER_PAIRS]) / eye,
        dist(*_OUTER_PAIR) / eye,
        dist(*_INNER_CORNERS) / eye,
        dist(*_OUTER_CORNERS) / eye,
        area / eye**2,
        dist(_NOSE_TIP, _CHIN) / eye,
        dist(0, 13) / eye,
        dist(14, 17) / eye,
        (corners_y - lips_middle_y) / eye,
        depth / eye,
    )
    return np.asarray(values, np.float32), eye


def face_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """The extent (x0, y0, x1, y1) of the face oval's landmarks, in the units of ``points`` (468, 2+)."""
    outline = points[list(_FACE_OVAL), :2]
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def mouth_patch_warp(points: np.ndarray) -> np.ndarray | None:
    """The affine map from picture pixels to the mouth patch :func:`mouth_look` reads (and a report draws).

    The patch is centred between the inner lips (landmarks 13 and 14), turned so the outer mouth corners lie
    level, and ``PATCH_W`` patch pixels span one eye distance.

    Parameters
    ----------
    points : (468, 2+) array, landmark positions in a picture's pixels.

    Returns
    -------
    (2, 3) float array for ``cv2.warpAffine``, or None when the eye distance is not positive (no usable face).
    """
    left, right = points[_OUTER_CORNERS[0], :2], points[_OUTER_CORNERS[1], :2]
    eye = float(np.hypot(*(points[_EYE_OUTER[0], :2] - points[_EYE_OUTER[1], :2])))
    if not eye > 0:
        return None
    centre = (points[13, :2] + points[14, :2]) / 2
    angle = np.arctan2(right[1] - left[1], right[0] - left[0])
    scale = PATCH_W / eye
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    warp = np.array([[cos, sin, 0.0], [-sin, cos, 0.0]])
    warp[:, 2] = np.array([PATCH_W / 2, PATCH_H / 2]) - warp[:, :2] @ centre
    return warp


def mouth_look(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Mouth appearance: a patch of the picture cut out along the lips, as a few cosine components.

    The patch is turned so the mouth corners lie level, spans one eye distance across, and is
    normalised to zero mean and unit contrast, so lighting and face size drop out.

    Parameters
    ----------
    image : (h, w, 3) uint8, RGB picture the landmarks were found in.
    points : (468, 2+) array, landmark positions in that picture's pixels.

    Returns
    -------
    (len(MOUTH_LOOK),) float32
        The patch's 2-D cosine components of the lowest ``LOOK_ROWS`` x ``LOOK_COLUMNS`` orders but
        the constant one, then the darkness of its middle against the whole patch (an open mouth is dark).
    """
    warp = mouth_patch_warp(points)
    if warp is None:
        return np.full(len(MOUTH_LOOK), np.nan, np.float32)
    scale = float(np.hypot(warp[0, 0], warp[0, 1]))
    patch = cv2.warpAffine(image, warp, (PATCH_W, PATCH_H), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
    gray = patch.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    mean, spread = float(gray.mean()), float(gray.std())
    components = dctn((gray - mean) / (spread + 1.0), norm="ortho")[:LOOK_ROWS, :LOOK_COLUMNS].ravel()[1:]
    middle = gray[PATCH_H // 3: PATCH_H - PATCH_H // 3, PATCH_W // 3: PATCH_W - PATCH_W // 3]
    darkness = float(middle.mean()) / (mean + 1.0)
    return np.append(components, darkness).astype(np.float32)


def _landmarks(result: object) -> list[np.ndarray]:
    """Faces in a Face Mesh result as (468, 3) arrays holding only the landmarks LipAlign reads (NaN elsewhere).

    Copying a landmark out of its protobuf costs about a microsecond; all 468 cost more per frame than
    the decoding of the frame.
    """
    faces = []
    for face in getattr(result, "multi_face_landmarks", None) or []:
        points = np.full((468, 3), np.nan, np.float32)
        marks = face.landmark
        for i in _USED:
            points[i] = marks[i].x, marks[i].y, marks[i].z
        faces.append(points)
    return faces


class FaceMeshTracker:
    """Follows one face through consecutive frames with MediaPipe Face Mesh, and counts faces.

    Tracking a single face lets Face Mesh skip face detection on most frames (a second tracked face
    would force detection on every frame while only one is present, which costs 70 % more). Faces
    are found separately, afresh, by :meth:`detect_faces`; several faces are tracked one region each.
    """

    def __init__(self) -> None:
        import mediapipe as mp  # deferred: importing it takes half a second

        face_mesh = mp.solutions.face_mesh
        self._mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                        min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._detector = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=MAX_FACES,
                                            refine_landmarks=False, min_detection_confidence=0.5)

    def close(self) -> None:
        self._mesh.close()
        self._detector.close()

    def __enter__(self) -> FaceMeshTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def main_face(self, image: np.ndarray) -> np.ndarray | None:
        """The tracked face in an RGB frame as (468, 3) positions in fractions of the frame (z as x), or None."""
        faces = _landmarks(self._mesh.process(image))
        return faces[0] if faces else None

    def detect_faces(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        """Boxes (x0, y0, x1, y1, fractions of the frame) of the faces in an RGB frame, found afresh."""
        return [face_box(points) for points in _landmarks(self._detector.process(image))]

    def count_faces(self, image: np.ndarray) -> int:
        """How many faces are in an RGB frame (detected afresh, independent of tracking)."""
        return len(self.detect_faces(image))


def track_face(frames: Iterable[VideoFrame], source_size: tuple[int, int], count_every_s: float = 1.0,
               region: FaceRegion | None = None) -> FaceTrack:
    """Measure one face in every frame: the main one, or the one in ``region``.

    Parameters
    ----------
    frames : iterable of VideoFrame
        Frames in presentation order (possibly downscaled).
    source_size : (width, height)
        The stream's own frame size as shown, so pixel measures refer to the source, not the downscale.
    count_every_s : float
        Seconds between face counts; frames in between repeat the last count (-1 before the first).
    region : FaceRegion or None
        Track only the face in this part of the frame (one of several faces, see :func:`find_faces`).
    """
    width, height = source_size
    times: list[float] = []
    counts: list[int] = []
    mouths: list[np.ndarray] = []
    boxes: list[np.ndarray] = []
    eyes: list[float] = []
    yaws: list[float] = []
    nan_box = np.full(4, np.nan, np.float32)
    nan_mouth = np.full(len(MOUTH_FEATURES), np.nan, np.float32)
    last_count, next_count_s = -1, -np.inf
    with quiet_native_stderr(), FaceMeshTracker() as tracker:
        for frame in decoded_ahead(frames):
            if frame.time_s >= next_count_s:
                last_count, next_count_s = tracker.count_faces(frame.image), frame.time_s + count_every_s
            times.append(frame.time_s)
            counts.append(last_count)
            picture, corner = (frame.image, np.zeros(2, np.float32)) if region is None \
                else region.picture(frame.image)
            normalised = tracker.main_face(picture) if picture.size else None
            if normalised is None:
                mouths.append(nan_mouth)
                boxes.append(nan_box)
                eyes.append(np.nan)
                yaws.append(np.nan)
                continue
            in_picture = normalised * np.array([picture.shape[1], picture.shape[0], picture.shape[1]], np.float32)
            image_h, image_w = frame.image.shape[:2]
            in_frame = in_picture + np.append(corner, 0.0)  # pixels of the (downscaled) frame
            main = in_frame * np.array([width / image_w, height / image_h, width / image_w], np.float32)
            shape, eye = mouth_shape(main)
            mouths.append(np.concatenate([shape, mouth_look(picture, in_picture)]))
            eyes.append(eye)
            outline = main[list(_FACE_OVAL), :2]  # the mesh's outer boundary: its extent is the face's
            lo, hi = outline.min(axis=0), outline.max(axis=0)
            boxes.append(np.array([lo[0] / width, lo[1] / height, hi[0] / width, hi[1] / height], np.float32))
            eye_mid = (main[_EYE_OUTER[0], :2] + main[_EYE_OUTER[1], :2]) / 2
            yaws.append(float((main[_NOSE_TIP, 0] - eye_mid[0]) / eye) if eye > 0 else np.nan)
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


# Frames looked at, spread over the clip, to find where the faces are before tracking.
FACE_SURVEY_FRAMES = 9
# A face seen in at least this share of the surveyed frames is tracked on its own.
FACE_PRESENT_SHARE = 0.3
# A region is a face's box grown by this share of its size on every side (room for head movement).
REGION_MARGIN = 0.5


def find_faces(path: str, duration_s: float, surveyed: int = FACE_SURVEY_FRAMES,
               progress: ProgressFn = no_progress) -> list[FaceRegion]:
    """Where the faces stay when several share the picture: one region per face, or [] for one face.

    Faces are detected afresh in ``surveyed`` frames spread over the clip and grouped by where they
    are; a group seen in at least :data:`FACE_PRESENT_SHARE` of those frames is a face. Its region is
    the extent of its boxes grown by :data:`REGION_MARGIN`; each region lists the other faces' boxes,
    which its tracking blanks.
    """
    sightings: list[list[tuple[float, float, float, float]]] = []
    with quiet_native_stderr(), FaceMeshTracker() as tracker:
        for k in range(surveyed):
            progress(k / surveyed, "looking for faces")
            start_s = duration_s * (k + 0.5) / surveyed
            try:
                frame = next(iter_video_frames(path, start_s=start_s, from_key_frame=True), None)
            except MediaError:  # a damaged stretch: the survey goes on, tracking reports what it can read
                continue
            if frame is not None:
                sightings.append(tracker.detect_faces(frame.image))
    groups = _group_boxes(sightings)
    faces = [np.array(g) for g in groups if len(g) >= FACE_PRESENT_SHARE * max(len(sightings), 1)]
    if len(faces) < 2:
        return []
    extents = [(*g[:, :2].min(axis=0), *g[:, 2:].max(axis=0)) for g in faces]
    regions = []
    for i, extent in enumerate(extents):
        others = tuple(tuple(float(v) for v in e) for j, e in enumerate(extents) if j != i)
        regions.append(FaceRegion.around(extent, others))
    return regions


def _group_boxes(sightings: list[list[tuple[float, float, float, float]]]) -> list[list[tuple[float, ...]]]:
    """Boxes of the same face across frames, grouped by their centres being within half a face's width."""
    def centre(box: tuple[float, ...]) -> np.ndarray:
        return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])

    groups: list[list[tuple[float, ...]]] = []
    for boxes in sightings:
        for box in boxes:
            size = max(box[2] - box[0], box[3] - box[1])
            distances = [np.hypot(*(np.mean([centre(b) for b in g], axis=0) - centre(box))) for g in groups]
            if distances and min(distances) < 0.5 * size:
                groups[int(np.argmin(distances))].append(box)
            else:
                groups.append([box])
    return groups


# Clips at least this long are tracked in parallel, one time span per core. One process already keeps two
# cores busy (decoding in a thread, landmarks in another), and starting another costs about two seconds of
# imports: measured side by side on two cores (1080x1920 at 25 fps), one process took 0.875 times the wall time
# of two on a 20 s clip, 0.99 on a 39 s cut (a tie) and 1.03 on a 120 s one.
PARALLEL_MIN_S = 40.0
_progress_queue = None


def _init_worker(queue: object) -> None:
    global _progress_queue
    _progress_queue = queue
    follow_parent()


def _track_span(path: str, source_size: tuple[int, int], start_s: float, end_s: float | None,
                region: FaceRegion | None) -> FaceTrack:
    def counted() -> Iterator[VideoFrame]:
        for index, frame in enumerate(iter_video_frames(path, start_s=start_s, end_s=end_s), 1):
            if index % 25 == 0 and _progress_queue is not None:
                _progress_queue.put(25)
            yield frame

    return track_face(counted(), source_size, region=region)


def concatenate_tracks(tracks: list[FaceTrack]) -> FaceTrack:
    """Face tracks of consecutive spans of one clip joined into one."""
    first = tracks[0]
    return FaceTrack(*(np.concatenate([getattr(t, name) for t in tracks]) for name in
                       ("time_s", "face_count", "mouth", "box", "eye_distance_px", "yaw")),
                     frame_width=first.frame_width, frame_height=first.frame_height)


def counted_frames(frames: Iterable[VideoFrame], total: int, progress: ProgressFn) -> Iterator[VideoFrame]:
    """``frames``, telling ``progress`` the share of ``total`` passed every 25 frames (about a second of video)."""
    for index, frame in enumerate(frames):
        if index % 25 == 0:
            progress(min(index / max(total, 1), 1.0), "tracking lips")
        yield frame


def track_face_in_file(path: str, source_size: tuple[int, int], *, duration_s: float, frame_count: int,
                       progress: ProgressFn = no_progress, workers: int | None = None,
                       region: FaceRegion | None = None) -> FaceTrack:
    """Measure one face (the main one, or the one in ``region``) in every frame of ``path``.

    Parameters
    ----------
    path : str, media file.
    source_size : (width, height) of the video as shown.
    duration_s, frame_count : float, int, from the probe (for the split and for progress).
    progress : called with the share of frames done.
    workers : processes to use; default one per core for clips of ``PARALLEL_MIN_S`` or more.
    region : FaceRegion or None, see :func:`track_face`.
    """
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if duration_s >= PARALLEL_MIN_S else 1
    total = max(frame_count, 1)
    if workers <= 1:
        return track_face(counted_frames(iter_video_frames(path), total, progress), source_size, region=region)
    bounds = [duration_s * k / workers for k in range(workers)] + [None]
    context = multiprocessing.get_context("spawn")  # MediaPipe's threads do not survive a fork
    queue = context.Queue()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(queue,)) as pool, \
            ending_with_run(pool):
        futures = [pool.submit(_track_span, path, source_size, bounds[k], bounds[k + 1], region)
                   for k in range(workers)]
        done = 0
        while not all(f.done() for f in futures):
            try:
                done += queue.get(timeout=0.2)
                progress(done / total, "tracking lips")
            except Empty:
                pass
        return concatenate_tracks([f.result() for f in futures])


def track_faces_in_file(path: str, source_size: tuple[int, int], *, duration_s: float, frame_count: int,
                        progress: ProgressFn = no_progress, workers: int | None = None) -> list[FaceTrack]:
    """Every face that stays in the picture, each measured in every frame (one track for a single face).

    See :func:`find_faces` for how several faces are told apart, and :func:`track_face_in_file` for
    the parameters.
    """
    regions: list[FaceRegion | None] = list(find_faces(path, duration_s, progress=progress_part(progress, 0, 0.05)))
    regions = regions or [None]
    tracks = []
    for k, region in enumerate(regions):
        def part(share: float, stage: str, k: int = k) -> None:
            progress(0.05 + 0.95 * (k + share) / len(regions), stage if len(regions) == 1 else
                     f"{stage} (face {k + 1} of {len(regions)})")

        tracks.append(track_face_in_file(path, source_size, duration_s=duration_s, frame_count=frame_count,
                                         progress=part, workers=workers, region=region))
    return tracks
