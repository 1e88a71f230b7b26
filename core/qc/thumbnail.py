"""A small picture of the face a measurement used, with the mouth patch it read, for the QC report.

The picture lets a reviewer see at a glance whether LipAlign watched the right face and the right part
of it: the face's box and the patch along the lips that the mouth appearance is cut from
(:func:`core.face.mouth_look`) are drawn on one frame, cropped around the face.
"""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from core.decode import iter_video_frames
from core.errors import MediaError
from core.face import PATCH_H, PATCH_W, FaceMeshTracker, FaceTrack, face_box, mouth_patch_warp, quiet_native_stderr

__all__ = ["THUMBNAIL_HEIGHT", "face_thumbnail", "mouth_patch_corners"]

THUMBNAIL_HEIGHT = 200
# Room around the face box in the crop, as a share of the box's size on each side (hair, chin, some context).
CROP_MARGIN = 0.25
# Decoded frame size: enough to keep a small face in a wide shot sharp after the crop, far less than 4K.
DECODE_MAX_SIDE = 1280
# The landmarks are looked for in the measured face's box grown by this share on each side, so that with
# several faces in view the thumbnail shows the one the measurement chose.
SEARCH_MARGIN = 0.5
# A face box from the track is used for a frame at most this far (seconds) from where it was measured.
BOX_REACH_S = 1.0
JPEG_QUALITY = 85
# Colours (RGB): the face box in green, the mouth patch in magenta; both stand out on skin.
BOX_RGB = (40, 200, 80)
PATCH_RGB = (255, 0, 200)


def face_thumbnail(path: str, face: FaceTrack, report: dict[str, Any]) -> str:
    """A JPEG (base64 text) of the measured face with its box and mouth patch drawn, or ``""`` without one.

    Parameters
    ----------
    path : str
        The media file the report is about.
    face : FaceTrack
        The face track the measurement used (``Analysis.face``).
    report : dict
        The file's ``lipalign.report/1`` record; its first sync moment is the preferred frame.

    Returns
    -------
    str
        Base64 of a JPEG about :data:`THUMBNAIL_HEIGHT` pixels high; empty when the file cannot be
        decoded there or no face is found in the frames tried. Never raises for bad media.
    """
    try:
        with quiet_native_stderr(), FaceMeshTracker() as tracker:
            for time_s in _candidate_times(face, report):
                picture = _drawn_face(path, face, time_s, tracker)
                if picture is not None:
                    return _jpeg_base64(picture)
    except (MediaError, OSError, ValueError, cv2.error):  # a thumbnail is a nicety: bad media gives none
        return ""
    return ""


def mouth_patch_corners(points: np.ndarray) -> np.ndarray | None:
    """The four corners (pixels, clockwise from top-left) of the mouth patch :func:`core.face.mouth_look` reads.

    The patch is centred between landmarks 13 and 14, turned so the outer mouth corners lie level, and
    ``PATCH_W`` patch pixels span one eye distance; this inverts the very warp ``mouth_look`` builds.

    Parameters
    ----------
    points : (468, 2+) array
        Landmark positions in pixels of one picture.

    Returns
    -------
    (4, 2) float array, or None when the eye distance is not positive (no usable face).
    """
    warp = mouth_patch_warp(points)
    if warp is None:
        return None
    back = cv2.invertAffineTransform(warp)  # patch pixels -> picture pixels
    corners = np.array([[0, 0], [PATCH_W, 0], [PATCH_W, PATCH_H], [0, PATCH_H]], np.float64)
    return corners @ back[:, :2].T + back[:, 2]


def _candidate_times(face: FaceTrack, report: dict[str, Any]) -> list[float]:
    """Times to try, best first: the first sync moment (the frame a reviewer checks), then the middle face frame."""
    times = []
    moments = ((report or {}).get("sync") or {}).get("moments") or []
    if moments and moments[0].get("time_s") is not None:
        times.append(float(moments[0]["time_s"]))
    found = np.flatnonzero(_usable(face))
    if found.size:
        middle = float(face.time_s[found[found.size // 2]])
        if middle not in times:
            times.append(middle)
    return times


def _usable(face: FaceTrack) -> np.ndarray:
    """Frames where the face was found and its box is known."""
    if face.time_s.size == 0:
        return np.zeros(0, bool)
    return face.found & np.all(np.isfinite(face.box), axis=1)


def _box_near(face: FaceTrack, time_s: float) -> np.ndarray | None:
    """The track's face box (fractions of the frame) nearest ``time_s``, if one was measured close enough."""
    usable = np.flatnonzero(_usable(face))
    if usable.size == 0:
        return None
    nearest = usable[np.argmin(np.abs(face.time_s[usable] - time_s))]
    if abs(face.time_s[nearest] - time_s) > BOX_REACH_S:
        return None
    return face.box[nearest].astype(np.float64)


def _frame_at(path: str, time_s: float) -> np.ndarray | None:
    """The first frame shown at or after ``time_s`` (RGB, upright), or None past the end."""
    frames = iter_video_frames(path, max_side=DECODE_MAX_SIDE, start_s=max(0.0, time_s))
    try:
        frame = next(frames, None)
    finally:
        frames.close()  # closes the container now, not when the generator is collected
    return None if frame is None else frame.image


def _pixel_box(box: np.ndarray, width: int, height: int, margin: float) -> tuple[int, int, int, int]:
    """A box in fractions of the frame grown by ``margin`` of its size on each side, as clipped pixel bounds."""
    x0, y0, x1, y1 = box
    grow_x, grow_y = (x1 - x0) * margin, (y1 - y0) * margin
    left, top = int(np.floor(max(0.0, x0 - grow_x) * width)), int(np.floor(max(0.0, y0 - grow_y) * height))
    right = int(np.ceil(min(1.0, x1 + grow_x) * width))
    bottom = int(np.ceil(min(1.0, y1 + grow_y) * height))
    return left, top, right, bottom


def _find_landmarks(image: np.ndarray, box: np.ndarray | None, tracker: FaceMeshTracker) -> np.ndarray | None:
    """The face's landmarks in ``image`` pixels, looked for around the measured box first, then in the frame."""
    height, width = image.shape[:2]
    regions = []
    if box is not None:
        regions.append(_pixel_box(box, width, height, SEARCH_MARGIN))
    regions.append((0, 0, width, height))
    for left, top, right, bottom in regions:
        picture = np.ascontiguousarray(image[top:bottom, left:right])
        if picture.shape[0] < 8 or picture.shape[1] < 8:
            continue
        normalised = tracker.main_face(picture)
        if normalised is not None:
            scale = np.array([picture.shape[1], picture.shape[0]], np.float64)
            return normalised[:, :2].astype(np.float64) * scale + np.array([left, top], np.float64)
    return None


def _drawn_face(path: str, face: FaceTrack, time_s: float, tracker: FaceMeshTracker) -> np.ndarray | None:
    """The thumbnail picture (RGB) for the frame at ``time_s``, or None when it has no face."""
    image = _frame_at(path, time_s)
    if image is None:
        return None
    points = _find_landmarks(image, _box_near(face, time_s), tracker)
    if points is None:
        return None
    box = face_box(points)
    if not np.all(np.isfinite(box)):
        return None
    height, width = image.shape[:2]
    fractions = np.array([box[0] / width, box[1] / height, box[2] / width, box[3] / height])
    left, top, right, bottom = _pixel_box(fractions, width, height, CROP_MARGIN)
    if right - left < 2 or bottom - top < 2:
        return None
    scale = THUMBNAIL_HEIGHT / (bottom - top)
    size = (max(1, round((right - left) * scale)), THUMBNAIL_HEIGHT)
    crop = cv2.resize(image[top:bottom, left:right], size, interpolation=cv2.INTER_AREA if scale < 1
                      else cv2.INTER_CUBIC)
    # Drawn after scaling, so the lines are equally thin whatever the source size.
    origin = np.array([left, top], np.float64)
    x0, y0, x1, y1 = box
    _outline(crop, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), origin, scale, BOX_RGB)
    patch = mouth_patch_corners(points)
    if patch is not None:
        _outline(crop, patch, origin, scale, PATCH_RGB)
    return crop


def _outline(picture: np.ndarray, corners: np.ndarray, origin: np.ndarray, scale: float,
             colour: tuple[int, int, int]) -> None:
    """Draw a closed quadrilateral given in frame pixels onto the scaled crop that starts at ``origin``."""
    shifted = np.round((corners - origin) * scale * 16).astype(np.int32)  # 4 fractional bits: sub-pixel lines
    cv2.polylines(picture, [shifted.reshape(-1, 1, 2)], isClosed=True, color=colour, thickness=2,
                  lineType=cv2.LINE_AA, shift=4)


def _jpeg_base64(picture: np.ndarray) -> str:
    """RGB picture -> base64 JPEG text ("" if encoding fails)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return base64.b64encode(data.tobytes()).decode("ascii") if ok else ""
