"""Pre-flight checks an experienced editor runs before blaming the lip-sync measurement.

Each check is a small pure function of the probe, the decoded audio or the face track that returns a
:class:`~core.model.Diagnostic` when it fires and None otherwise. Codes are stable (other tools and the
Resolve plugin key on them); thresholds are the module constants below.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.decode import AudioTrack, SpooledAudio
from core.face import FaceTrack
from core.levels import leading_silence_s, noise_floor_dbfs, silence_runs
from core.model import Diagnostic, MediaInfo

__all__ = ["FACE_FOUND_WARN", "MIN_EYE_DISTANCE_PX", "check_chin_cut", "check_dropped_frames", "check_face_found",
           "check_face_size", "check_forehead_cut", "check_fps_mismatch", "check_frontal", "check_leading_silence",
           "check_long_silence", "check_multiple_faces", "check_noise_floor", "check_peak_level", "check_sample_rate",
           "check_stream_start", "check_vfr", "diagnose", "longest_run_s", "mislabelled_rate",
           "nearest_standard_sample_rate", "rate_mismatch_drift_ms_per_min"]

# Audio. A noise floor above this (dBFS) masks quiet syllables and gives the lips nothing to match.
NOISE_FLOOR_MAX_DBFS = -40.0
# Pauses at least this long (s) leave stretches with no sound to align the lips to.
LONG_SILENCE_S = 1.0
# Silence before the first sound longer than this (s) is usually a pre-roll that tools trim inconsistently.
LEADING_SILENCE_MAX_S = 0.2
# A peak at or above this (dBFS) means the recording clipped: lossy codecs round clipped tops down by a few
# tenths of a dB (AAC decodes a hard-clipped voice at about -0.3 dBFS), so "at full scale" needs this margin.
PEAK_CLIP_DBFS = -0.5
# A peak below this (dBFS) is so quiet that speech barely rises above the noise; the target is -3 dBFS.
PEAK_QUIET_DBFS = -20.0
PEAK_TARGET_DBFS = -3.0

# Sample rates that tools know and resample between; a rate within PULL_TOLERANCE of one of them but not equal is
# that rate pulled by 1000/1001 (47952, 48048, 44056, 44144 Hz).
STANDARD_SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000)
# The audio lasting this share more (or less) than the picture times a rate ratio counts as that ratio; a clip
# shorter than this (s) cannot tell a mislabelled rate from a frame's rounding; streams starting further apart than
# this (s) are a late start, not a rate.
PULL_TOLERANCE = 0.0015
MISLABEL_TOLERANCE = 0.003
MISLABEL_MIN_S = 10.0
MISLABEL_START_SLACK_S = 0.1

# Video. Declared and measured frame rates further apart than this share disagree (0.05 % is 30 ms per
# minute, finer than 29.97 against 30 fps and coarser than millisecond timestamp rounding on a 3 s clip).
FPS_MISMATCH_REL = 0.0005
# Streams starting further apart than this (s) shift the audio in tools that ignore start times.
STREAM_START_TOLERANCE_S = 0.001

# Face. Below this share of frames with a face the lips cannot be measured at all (error) ...
FACE_FOUND_MIN = 0.5
# ... and below this share parts of the clip cannot (warning).
FACE_FOUND_WARN = 0.9
# Share of counted frames with more than one face above which the wrong face may be measured.
MULTIPLE_FACES_SHARE = 0.2
# Share of face frames whose chin or forehead landmarks run off the frame edge.
CUT_SHARE = 0.1
# Median outer-eye-corner distance (source pixels) below which the lips are a few pixels tall: at 40 px the
# mouth is about 35 px wide and its opening rarely more than 10 px.
MIN_EYE_DISTANCE_PX = 40.0
# Nose offset from the eye midline, in eye distances, beyond which the head is turned (about 30 degrees).
MAX_YAW = 0.3
# Continuous seconds of a turned head that make a stretch unmeasurable.
NOT_FRONTAL_MAX_S = 2.0

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def check_noise_floor(audio: AudioTrack | SpooledAudio) -> Diagnostic | None:
    """AUDIO_NOISE_FLOOR: the quiet frames of the clip are louder than :data:`NOISE_FLOOR_MAX_DBFS`."""
    floor = noise_floor_dbfs(audio.levels_dbfs)
    if floor <= NOISE_FLOOR_MAX_DBFS:
        return None
    return Diagnostic(
        "AUDIO_NOISE_FLOOR", "warning",
        f"The audio noise floor is {floor:.1f} dBFS, above {NOISE_FLOOR_MAX_DBFS:.0f} dBFS, so background noise "
        "competes with speech.",
        round(floor, 1), NOISE_FLOOR_MAX_DBFS,
        "Reduce the noise with `lipalign prep-audio` (or a noise-reduction pass) before measuring sync.")


def check_long_silence(audio: AudioTrack | SpooledAudio) -> Diagnostic | None:
    """AUDIO_LONG_SILENCE: pauses after the first sound lasting at least :data:`LONG_SILENCE_S`."""
    runs = [(a, b) for a, b in silence_runs(audio.levels_dbfs, LONG_SILENCE_S) if a > 0]
    if not runs:
        return None
    longest = max(b - a for a, b in runs)
    where = ", ".join(f"{audio.start_s + a:.1f}-{audio.start_s + b:.1f} s" for a, b in runs[:5])
    return Diagnostic(
        "AUDIO_LONG_SILENCE", "info",
        f"{len(runs)} silence(s) of {LONG_SILENCE_S:g} s or more (longest {longest:.1f} s, at {where}) "
        "give the lips nothing to align to there.",
        round(longest, 2), LONG_SILENCE_S,
        "Trim or cut the silent stretches, or measure sync on a section with continuous speech.")


def check_leading_silence(audio: AudioTrack | SpooledAudio) -> Diagnostic | None:
    """AUDIO_LEADING_SILENCE: more than :data:`LEADING_SILENCE_MAX_S` of silence before the first sound."""
    lead = leading_silence_s(audio.levels_dbfs)
    if lead <= LEADING_SILENCE_MAX_S:
        return None
    return Diagnostic(
        "AUDIO_LEADING_SILENCE", "info",
        f"The audio starts with {lead * 1000:.0f} ms of silence, which lip-sync tools and exports trim "
        "inconsistently.",
        round(lead, 3), LEADING_SILENCE_MAX_S,
        f"Run `lipalign prep-audio` to trim leading silence to {LEADING_SILENCE_MAX_S * 1000:.0f} ms.")


def check_peak_level(audio: AudioTrack | SpooledAudio) -> Diagnostic | None:
    """AUDIO_PEAK_LEVEL: the pre-downmix peak clips (at or above :data:`PEAK_CLIP_DBFS`) or is very quiet."""
    peak = audio.peak_dbfs
    if peak >= PEAK_CLIP_DBFS:
        return Diagnostic(
            "AUDIO_PEAK_LEVEL", "warning",
            f"The audio peaks at {peak:.1f} dBFS and is probably clipped.",
            round(peak, 2), PEAK_CLIP_DBFS,
            f"Lower the gain to peak at {PEAK_TARGET_DBFS:g} dBFS (`lipalign prep-audio`); re-record or "
            "de-clip if the source itself clipped.")
    if peak < PEAK_QUIET_DBFS:
        shown = "-inf" if not np.isfinite(peak) else f"{peak:.1f}"
        return Diagnostic(
            "AUDIO_PEAK_LEVEL", "warning",
            f"The audio peaks at only {shown} dBFS, so speech barely rises above the noise.",
            round(peak, 2) if np.isfinite(peak) else None, PEAK_QUIET_DBFS,
            f"Normalise the peak to {PEAK_TARGET_DBFS:g} dBFS with `lipalign prep-audio`.")
    return None


def rate_mismatch_drift_ms_per_min(source_rate: int, project_rate: int) -> float:
    """Drift (ms per minute, positive = audio falls behind) if ``source_rate`` audio plays as ``project_rate``.

    Audio whose samples are played at the wrong rate runs ``project_rate / source_rate`` times too fast, so
    a minute of it ends ``60000 * (1 - source_rate / project_rate)`` ms early.
    """
    if source_rate <= 0 or project_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {source_rate} and {project_rate}")
    return -60000.0 * (1.0 - source_rate / project_rate)


def check_sample_rate(media: MediaInfo, audio: AudioTrack | SpooledAudio, project_rate: int) -> Diagnostic | None:
    """AUDIO_SAMPLE_RATE: a rate that really drifts (pulled by 1000/1001, or mislabelled), as a warning; any
    other rate that is not the project's, as information (editors resample it on import)."""
    rate = media.sample_rate
    if not rate:
        return None
    recorded = mislabelled_rate(media, audio)
    if recorded:
        drift = rate_mismatch_drift_ms_per_min(recorded, rate)
        return Diagnostic(
            "AUDIO_SAMPLE_RATE", "warning",
            f"The audio lasts {audio.duration_s / _video_length_s(media):.4f} times as long as the picture: it was "
            f"probably recorded at {recorded / 1000:g} kHz and labelled {rate / 1000:g} kHz, so it plays "
            f"{drift:+.0f} ms per minute off the picture.",
            rate, recorded,
            f"Re-label the audio as {recorded / 1000:g} kHz where it was exported, or correct the drift with "
            f"`lipalign fix INPUT -o OUTPUT --drift-ms-per-min {drift:.0f}`.")
    standard = nearest_standard_sample_rate(rate)
    if rate != standard and abs(rate / standard - 1.0) <= PULL_TOLERANCE:
        drift = rate_mismatch_drift_ms_per_min(rate, standard)
        return Diagnostic(
            "AUDIO_SAMPLE_RATE", "warning",
            f"The audio is {rate / 1000:g} kHz, {standard / 1000:g} kHz pulled by 1000/1001; a tool that takes it "
            f"for {standard / 1000:g} kHz drifts {drift:+.0f} ms per minute against the picture.",
            rate, standard,
            f"Check that the pull matches the picture (23.976 against 24 fps), or resample to {standard / 1000:g} kHz "
            f"with `lipalign prep-audio --rate {standard}`.")
    if rate == project_rate:
        return None
    return Diagnostic(
        "AUDIO_SAMPLE_RATE", "info",
        f"The audio is {rate / 1000:g} kHz and the project {project_rate / 1000:g} kHz; an editor resamples it "
        "on import, so it stays in sync.",
        rate, project_rate,
        f"Nothing to do in an editor; for a tool that cannot resample, `lipalign prep-audio --rate {project_rate}`.")


def nearest_standard_sample_rate(rate: int) -> int:
    """The standard sample rate nearest ``rate`` (Hz), by ratio."""
    return min(STANDARD_SAMPLE_RATES, key=lambda standard: abs(np.log(rate / standard)))


def _video_length_s(media: MediaInfo) -> float:
    fps = media.fps_measured or media.fps_declared or 0.0
    return media.frame_count / fps if fps and media.frame_count else 0.0


def mislabelled_rate(media: MediaInfo, audio: AudioTrack | SpooledAudio) -> int | None:
    """The standard rate the audio was really recorded at when its length says it is labelled wrongly, else None.

    Audio recorded at ``r`` Hz and labelled ``l`` Hz lasts ``r / l`` times as long as the picture it was recorded
    with. Only for streams starting together and long enough that a frame's rounding cannot fake the ratio, and
    only between the 44.1 and 48 kHz families (a mere shortfall of audio must not read as a rate).
    """
    video_s = _video_length_s(media)
    starts_apart = abs((media.audio_start_s or 0.0) - (media.video_start_s or 0.0))
    if (video_s < MISLABEL_MIN_S or starts_apart > MISLABEL_START_SLACK_S
            or media.sample_rate not in STANDARD_SAMPLE_RATES):
        return None
    ratio = audio.duration_s / video_s
    slack = max(MISLABEL_TOLERANCE, 1.5 / (media.fps_measured or 25.0) / video_s)
    for recorded in STANDARD_SAMPLE_RATES:
        expected = recorded / media.sample_rate
        if 2 * slack < abs(expected - 1) < 0.15 and abs(ratio / expected - 1) <= slack:
            return recorded
    return None


def _conform_command(media: MediaInfo) -> str:
    """The conform-fps call that suits the file: fill dropped frames at the declared rate, else let it pick the
    standard rate nearest the measured one."""
    if media.dropped_frames > 0 and media.fps_declared:
        return f"`lipalign conform-fps INPUT -o OUTPUT --fps {media.fps_declared:g}`"
    return "`lipalign conform-fps INPUT -o OUTPUT` (it picks the standard rate nearest the measured one)"


def check_fps_mismatch(media: MediaInfo) -> Diagnostic | None:
    """VIDEO_FPS_MISMATCH: the declared frame rate differs from the frame timestamps' rate."""
    declared, measured = media.fps_declared, media.fps_measured
    if not declared or not measured or abs(measured - declared) <= FPS_MISMATCH_REL * declared:
        return None
    drift = 60000.0 * (declared / measured - 1.0)
    return Diagnostic(
        "VIDEO_FPS_MISMATCH", "warning",
        f"The video declares {declared:.3f} fps but its frames play at {measured:.3f} fps; a tool that trusts "
        f"the declared rate drifts {drift:+.0f} ms per minute.",
        round(measured, 4), round(declared, 4),
        f"Conform to a constant frame rate with {_conform_command(media)}.")


def check_vfr(media: MediaInfo) -> Diagnostic | None:
    """VIDEO_VFR: the frame intervals vary (phone and screen recordings)."""
    if not media.vfr:
        return None
    return Diagnostic(
        "VIDEO_VFR", "warning",
        f"The video has a variable frame rate (frame intervals vary by {media.frame_interval_jitter_ms:.1f} ms), "
        "which editors re-time unpredictably.",
        round(media.frame_interval_jitter_ms, 2), "constant frame rate",
        f"Conform to a constant frame rate with {_conform_command(media)}.")


def check_dropped_frames(media: MediaInfo) -> Diagnostic | None:
    """VIDEO_DROPPED_FRAMES: gaps in the frame timestamps."""
    if media.dropped_frames <= 0:
        return None
    return Diagnostic(
        "VIDEO_DROPPED_FRAMES", "warning",
        f"{media.dropped_frames} frame(s) are missing from the video's timing; an editor that plays frames "
        "back to back will slip the picture against the sound there.",
        media.dropped_frames, 0,
        f"Conform to a constant frame rate with {_conform_command(media)}, which repeats frames into the gaps.")


def check_stream_start(media: MediaInfo) -> Diagnostic | None:
    """STREAM_START_MISMATCH: the audio and video streams start at different times."""
    if media.video_start_s is None or media.audio_start_s is None:
        return None
    offset_s = media.video_start_s - media.audio_start_s
    if abs(offset_s) <= STREAM_START_TOLERANCE_S:
        return None
    fps = media.fps_measured or media.fps_declared or 25.0
    later = "video" if offset_s > 0 else "audio"
    return Diagnostic(
        "STREAM_START_MISMATCH", "warning",
        f"The {later} stream starts {abs(offset_s) * 1000:.0f} ms later; tools that ignore start times put the "
        f"audio {offset_s * 1000:+.0f} ms ({offset_s * fps:+.2f} frames) off, positive = audio late.",
        round(offset_s * 1000, 2), STREAM_START_TOLERANCE_S * 1000,
        "Re-export with audio and video starting together (or slip the audio by "
        f"{-offset_s * 1000:+.0f} ms where the start times are ignored).")


def check_face_found(face: FaceTrack) -> Diagnostic | None:
    """FACE_NONE: too few frames show a face (error below :data:`FACE_FOUND_MIN`, else warning)."""
    n = face.time_s.size
    share = float(np.mean(face.found)) if n else 0.0
    if share >= FACE_FOUND_WARN:
        return None
    severity = "error" if share < FACE_FOUND_MIN else "warning"
    return Diagnostic(
        "FACE_NONE", severity,
        f"A face was found in only {share:.0%} of the frames, so lip sync cannot be measured "
        f"{'at all' if severity == 'error' else 'everywhere'}.",
        round(share, 3), FACE_FOUND_MIN if severity == "error" else FACE_FOUND_WARN,
        "Use a shot where the speaker's face is visible and lit, or trim the clip to the stretch where it is.")


def check_multiple_faces(face: FaceTrack) -> Diagnostic | None:
    """FACE_MULTIPLE: several faces in view in more than :data:`MULTIPLE_FACES_SHARE` of counted frames."""
    counted = face.face_count[face.face_count >= 0]
    if counted.size == 0:
        return None
    share = float(np.mean(counted > 1))
    if share <= MULTIPLE_FACES_SHARE:
        return None
    return Diagnostic(
        "FACE_MULTIPLE", "warning",
        f"{int(counted.max())} faces are in view in {share:.0%} of the frames; the lips of the wrong person "
        "may be measured.",
        round(share, 3), MULTIPLE_FACES_SHARE,
        "Crop or reframe to the speaker (or measure a single-speaker section).")


def _cut_share(face: FaceTrack, column: int, beyond: Callable[[np.ndarray], np.ndarray]) -> float:
    found = face.found
    if not np.any(found):
        return 0.0
    return float(np.mean(beyond(face.box[found, column])))


def check_chin_cut(face: FaceTrack) -> Diagnostic | None:
    """FACE_CHIN_CUT: the chin runs off the bottom edge in more than :data:`CUT_SHARE` of face frames."""
    share = _cut_share(face, 3, lambda y1: y1 > 1.0)
    if share <= CUT_SHARE:
        return None
    return Diagnostic(
        "FACE_CHIN_CUT", "warning",
        f"The chin is cut off by the bottom of the frame in {share:.0%} of the face frames, so jaw movement "
        "is partly invisible.",
        round(share, 3), CUT_SHARE,
        "Use a wider framing (or the uncropped source) with the whole chin in view.")


def check_forehead_cut(face: FaceTrack) -> Diagnostic | None:
    """FACE_FOREHEAD_CUT: the forehead runs off the top edge in more than :data:`CUT_SHARE` of face frames."""
    share = _cut_share(face, 1, lambda y0: y0 < 0.0)
    if share <= CUT_SHARE:
        return None
    return Diagnostic(
        "FACE_FOREHEAD_CUT", "info",
        f"The forehead is cut off by the top of the frame in {share:.0%} of the face frames, which makes face "
        "tracking less stable.",
        round(share, 3), CUT_SHARE,
        "Use a wider framing (or the uncropped source) with the whole head in view.")


def check_face_size(face: FaceTrack) -> Diagnostic | None:
    """FACE_TOO_SMALL: the median eye distance is below :data:`MIN_EYE_DISTANCE_PX` source pixels."""
    eyes = face.eye_distance_px[face.found]
    if eyes.size == 0:
        return None
    median = float(np.median(eyes))
    if median >= MIN_EYE_DISTANCE_PX:
        return None
    return Diagnostic(
        "FACE_TOO_SMALL", "warning",
        f"The face is small (eyes {median:.0f} px apart, below {MIN_EYE_DISTANCE_PX:.0f} px), too few pixels "
        "for reliable lip reading.",
        round(median, 1), MIN_EYE_DISTANCE_PX,
        "Use a closer or higher-resolution shot of the speaker, or the original camera file.")


def longest_run_s(flags: np.ndarray, time_s: np.ndarray) -> float:
    """Length in seconds of the longest stretch of consecutive True frames (each lasting to the next frame)."""
    if not np.any(flags):
        return 0.0
    step = float(np.median(np.diff(time_s))) if time_s.size > 1 else 0.0
    ends = np.append(time_s[1:], time_s[-1] + step)
    edges = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return float(np.max(ends[stops] - time_s[starts]))


def check_frontal(face: FaceTrack) -> Diagnostic | None:
    """FACE_NOT_FRONTAL: the head is turned beyond :data:`MAX_YAW` for over :data:`NOT_FRONTAL_MAX_S` in a row."""
    turned = face.found & (np.abs(np.nan_to_num(face.yaw)) > MAX_YAW)
    longest = longest_run_s(turned, face.time_s)
    if longest <= NOT_FRONTAL_MAX_S:
        return None
    return Diagnostic(
        "FACE_NOT_FRONTAL", "info",
        f"The head is turned away from the camera for {longest:.1f} s in a row, where the lips are hard to read.",
        round(longest, 2), NOT_FRONTAL_MAX_S,
        "Measure sync on a section where the speaker faces the camera.")


def diagnose(media: MediaInfo, audio: AudioTrack | SpooledAudio, face: FaceTrack, *,
             project_rate: int = 48000) -> list[Diagnostic]:
    """Run every check; return the ones that fired, most severe first (then in check order)."""
    if project_rate <= 0:
        raise ValueError(f"project sample rate must be positive, got {project_rate}")
    fired = [
        check_noise_floor(audio),
        check_long_silence(audio),
        check_leading_silence(audio),
        check_peak_level(audio),
        check_sample_rate(media, audio, project_rate),
        check_fps_mismatch(media),
        check_vfr(media),
        check_dropped_frames(media),
        check_stream_start(media),
        check_face_found(face),
        check_multiple_faces(face),
        check_chin_cut(face),
        check_forehead_cut(face),
        check_face_size(face),
        check_frontal(face),
    ]
    return sorted((d for d in fired if d is not None), key=lambda d: _SEVERITY_RANK[d.severity])
