"""Every pre-flight diagnostic fires where its defect is and stays quiet where it is not.

Three kinds of evidence: corpus clips that carry a defect (or are clean), clips encoded here with one
defect injected into real pictures and speech (tests/media_factory.py), run end to end through probe,
decode and face tracking, and face tracks built directly for the cases no real picture can stage.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_factory import (
    blank,
    crop,
    db_gain,
    load_source,
    shrink,
    side_by_side,
    with_noise,
    with_silence,
    write_clip,
)

from core import diagnose as dg
from core.decode import AudioTrack, decode_audio, iter_video_frames
from core.face import MOUTH_FEATURES, FaceTrack, track_face
from core.levels import LevelMeter, frame_levels_dbfs, leading_silence_s, noise_floor_dbfs, silence_runs
from core.model import MediaInfo
from core.probe import probe

# Seconds 1-3 of this clip are clean: -60 dBFS floor, speech from the first frame, -12 dBFS peak, 25 fps.
SOURCE_CLIP = "real/videoretalking__5.mp4"
SOURCE_START_S = 1.0
AUDIO_CODES = {"AUDIO_NOISE_FLOOR", "AUDIO_LONG_SILENCE", "AUDIO_LEADING_SILENCE", "AUDIO_PEAK_LEVEL"}
FACE_CODES = {"FACE_NONE", "FACE_MULTIPLE", "FACE_CHIN_CUT", "FACE_FOREHEAD_CUT", "FACE_TOO_SMALL",
              "FACE_NOT_FRONTAL"}


# ---------------------------------------------------------------- helpers and shared fixtures

def run_diagnose(path: Path, project_rate: int = 48000) -> dict[str, object]:
    """The whole pre-flight pipeline on one file: {code: Diagnostic}."""
    media = probe(path)
    audio = decode_audio(path, 16000)
    face = track_face(iter_video_frames(path), (media.width, media.height))
    return {d.code: d for d in dg.diagnose(media, audio, face, project_rate=project_rate)}


@pytest.fixture(scope="session")
def source(corpus):
    return load_source(corpus / SOURCE_CLIP, 2.0, SOURCE_START_S, rate=48000, max_side=320)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("diagnose_media")


@pytest.fixture(scope="session")
def clean_codes(source, media_dir):
    """What fires on the untouched re-encode: the reference every synthetic defect is compared with."""
    return run_diagnose(write_clip(media_dir / "clean.mp4", source.frames, fps=source.fps, audio=source.audio))


def audio_of(corpus: Path, name: str) -> AudioTrack:
    return decode_audio(corpus / name, 16000)


def face_track(found: np.ndarray | None = None, *, n: int = 100, fps: float = 25.0, box=(0.3, 0.2, 0.7, 0.8),
               eye_px: float = 120.0, yaw: np.ndarray | float = 0.0, counts: np.ndarray | int = 1) -> FaceTrack:
    """A face track as :func:`track_face` returns it, with chosen measures."""
    found = np.ones(n, bool) if found is None else np.asarray(found, bool)
    n = found.size
    mouth = np.where(found[:, None], 0.2, np.nan).astype(np.float32) * np.ones((1, len(MOUTH_FEATURES)), np.float32)
    boxes = np.where(found[:, None], np.asarray(box, np.float32)[None, :], np.nan).astype(np.float32)
    return FaceTrack(
        time_s=np.arange(n) / fps,
        face_count=np.broadcast_to(np.asarray(counts, np.int16), (n,)).copy(),
        mouth=mouth,
        box=boxes,
        eye_distance_px=np.where(found, eye_px, np.nan).astype(np.float32),
        yaw=np.where(found, np.broadcast_to(yaw, (n,)), np.nan).astype(np.float32),
        frame_width=640,
        frame_height=480,
    )


def media_info(**fields) -> MediaInfo:
    base = {"path": "x.mp4", "container": "mp4", "duration_s": 10.0, "has_video": True, "has_audio": True,
            "width": 640, "height": 480, "fps_declared": 25.0, "fps_measured": 25.0, "frame_count": 250,
            "video_start_s": 0.0, "audio_start_s": 0.0, "sample_rate": 48000, "channels": 2}
    return MediaInfo(**{**base, **fields})


# ---------------------------------------------------------------- level measures

def test_levels_find_silence_and_floor():
    rate = 16000
    rng = np.random.default_rng(1)
    t = np.arange(rate) / rate
    burst = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    quiet = np.zeros(rate // 2, np.float32)
    samples = np.concatenate([quiet, burst, np.zeros(int(1.5 * rate), np.float32), burst])
    samples += (rng.standard_normal(samples.size) * 1e-4).astype(np.float32)  # -80 dBFS floor
    levels = frame_levels_dbfs(samples, rate)
    assert levels.size == round(samples.size / rate / 0.05)
    assert noise_floor_dbfs(levels) == pytest.approx(-80.0, abs=2.0)
    assert leading_silence_s(levels) == pytest.approx(0.5, abs=0.05)
    assert silence_runs(levels, min_s=1.0) == [(pytest.approx(1.5, abs=0.05), pytest.approx(3.0, abs=0.05))]
    # No sound at all: all of it is silence.
    assert leading_silence_s(frame_levels_dbfs(np.zeros(rate, np.float32), rate)) == 1.0
    steady = frame_levels_dbfs((rng.standard_normal(2 * rate) * 0.03).astype(np.float32), rate)  # -30 dBFS noise
    assert leading_silence_s(steady) == 0.0 and silence_runs(steady) == []  # no contrast: all of it is sound


def test_levels_measured_block_by_block_are_the_levels_of_the_whole():
    rng = np.random.default_rng(3)
    rate = 16000
    samples = (rng.standard_normal(rate * 7 + 123) * np.linspace(0.001, 0.5, rate * 7 + 123)).astype(np.float32)
    cuts = np.sort(rng.integers(0, samples.size, 40))
    meter = LevelMeter(rate)
    for block in np.split(samples, cuts):
        meter.add(block)
    np.testing.assert_array_equal(meter.levels_dbfs(), frame_levels_dbfs(samples, rate))
    # A clip shorter than a frame is one frame; nothing is nothing.
    np.testing.assert_array_equal(LevelMeter(rate).add(samples[:300]).add(samples[300:500]).levels_dbfs(),
                                  frame_levels_dbfs(samples[:500], rate))
    assert LevelMeter(rate).levels_dbfs().size == 0


def test_levels_reject_bad_parameters():
    with pytest.raises(ValueError, match="sample rate"):
        frame_levels_dbfs(np.zeros(10, np.float32), 0)
    with pytest.raises(ValueError, match="frame length"):
        frame_levels_dbfs(np.zeros(10, np.float32), 16000, frame_s=0)


# ---------------------------------------------------------------- audio checks on corpus clips

@pytest.mark.parametrize(("check", "fires_on", "quiet_on"), [
    (dg.check_noise_floor, "real/liveportrait__d11.mp4", "real/videoretalking__2.mp4"),
    (dg.check_long_silence, "real/dfrf__cnn2_25fps.mp4", "real/aniportrait__pose_ref_video.mp4"),
    (dg.check_leading_silence, "generated/vexpress__emo_talk_yomir_gt.mp4", "real/videoretalking__5.mp4"),
    (dg.check_peak_level, "real/lipnet__bbaf2n.mpg", "real/aniportrait__pose_ref_video.mp4"),
])
def test_audio_check_on_corpus(corpus, check, fires_on, quiet_on):
    fired = check(audio_of(corpus, fires_on))
    assert fired is not None and fired.code in AUDIO_CODES
    assert fired.fix and fired.message and fired.value is not None and fired.threshold is not None
    assert check(audio_of(corpus, quiet_on)) is None


def test_long_silences_are_counted_on_corpus(corpus):
    fired = dg.check_long_silence(audio_of(corpus, "real/dfrf__cnn2_25fps.mp4"))
    assert fired.message.startswith("6 silence(s)")  # six pauses of 1-1.3 s in the last half minute
    assert 1.0 <= fired.value <= 1.5


def test_noise_floor_value_on_corpus(corpus):
    fired = dg.check_noise_floor(audio_of(corpus, "real/liveportrait__d11.mp4"))
    assert fired.value == pytest.approx(-24.0, abs=1.5)
    assert fired.threshold == -40.0 and fired.severity == "warning"


# ---------------------------------------------------------------- media checks on corpus clips

@pytest.mark.parametrize("check", [dg.check_fps_mismatch, dg.check_vfr, dg.check_dropped_frames,
                                   dg.check_stream_start])
def test_timing_checks_on_corpus(corpus, check):
    fired = check(probe(corpus / "real" / "videoretalking__1.mp4"))
    assert fired is not None and fired.fix
    assert check(probe(corpus / "real" / "videoretalking__2.mp4")) is None


def test_irregular_corpus_clip_values(corpus):
    media = probe(corpus / "real" / "videoretalking__1.mp4")
    start = dg.check_stream_start(media)
    assert start.value == pytest.approx(33.0, abs=0.5)  # video 33 ms late => audio 33 ms late where starts are ignored
    assert "+0.73 frames" in start.message
    fps = dg.check_fps_mismatch(media)
    assert fps.value == pytest.approx(22.09, abs=0.05) and fps.threshold == 30.0
    assert dg.check_dropped_frames(media).value == media.dropped_frames > 10
    assert "conform-fps INPUT -o OUTPUT --fps 30`" in dg.check_vfr(media).fix  # fill the gaps at the declared rate


def test_a_standard_rate_an_editor_resamples_is_information_not_a_drift(corpus):
    # It used to warn that the 44.1 kHz audio "would drift -4875 ms per minute": an editor resamples it on import.
    path = corpus / "real" / "videoretalking__2.mp4"
    media, audio = probe(path), decode_audio(path, 16000)
    fired = dg.check_sample_rate(media, audio, 48000)
    assert (fired.code, fired.severity, fired.value, fired.threshold) == ("AUDIO_SAMPLE_RATE", "info", 44100, 48000)
    assert "resamples it" in fired.message and "drift" not in fired.message
    assert dg.check_sample_rate(media, audio, 44100) is None
    other = corpus / "real" / "aniportrait__pose_ref_video.mp4"
    assert dg.check_sample_rate(probe(other), decode_audio(other, 16000), 48000) is None


def track_of(seconds: float, start_s: float = 0.0) -> AudioTrack:
    return AudioTrack(np.zeros(round(seconds * 16000), np.float32), 16000, start_s, 48000, 2, -6.0)


@pytest.mark.parametrize(("rate", "standard", "drift"), [(47952, 48000, -60.0), (48048, 48000, 60.0),
                                                         (44056, 44100, -60.0)])
def test_a_rate_pulled_by_1000_1001_warns_with_its_drift(rate, standard, drift):
    fired = dg.check_sample_rate(media_info(sample_rate=rate), track_of(10.0), 48000)
    assert (fired.severity, fired.value, fired.threshold) == ("warning", rate, standard)
    assert f"{drift:+.0f} ms per minute" in fired.message


def test_a_mislabelled_rate_warns_from_the_audio_length():
    # 30 s of picture; 48 kHz audio labelled 44.1 kHz lasts 48/44.1 as long and falls behind 5306 ms a minute.
    media = media_info(sample_rate=44100, frame_count=750, duration_s=30 * 48000 / 44100)
    fired = dg.check_sample_rate(media, track_of(30 * 48000 / 44100), 48000)
    assert (fired.severity, fired.value, fired.threshold) == ("warning", 44100, 48000)
    assert "recorded at 48 kHz and labelled 44.1 kHz" in fired.message and "+5306 ms per minute" in fired.message
    assert "--drift-ms-per-min 5306" in fired.fix


@pytest.mark.parametrize(("seconds", "start_s"), [(10.0, 0.0), (30 * 48000 / 44100, 2.0), (28.0, 0.0)])
def test_audio_that_is_merely_short_or_late_is_not_a_mislabelled_rate(seconds, start_s):
    media = media_info(sample_rate=48000, frame_count=750, audio_start_s=start_s)
    assert dg.check_sample_rate(media, track_of(seconds, start_s), 48000) is None
    assert dg.check_sample_rate(media_info(sample_rate=48000), track_of(10.0 * 48000 / 44100), 48000) is None


def test_rate_mismatch_drift():
    assert dg.rate_mismatch_drift_ms_per_min(44100, 48000) == pytest.approx(-4875.0)
    assert dg.rate_mismatch_drift_ms_per_min(48000, 44100) == pytest.approx(60000 * (48000 / 44100 - 1))
    assert dg.rate_mismatch_drift_ms_per_min(48000, 48000) == 0.0
    with pytest.raises(ValueError):
        dg.rate_mismatch_drift_ms_per_min(0, 48000)


# ---------------------------------------------------------------- face checks on corpus clips

@pytest.mark.parametrize("name", ["real/lipnet__bbaf2n.mpg", "real/aniportrait__pose_ref_video.mp4"])
def test_no_face_check_fires_on_clean_corpus_framing(corpus, name):
    codes = run_diagnose(corpus / name)
    assert not FACE_CODES & codes.keys(), codes


# ---------------------------------------------------------------- defects injected into generated clips

def test_clean_reencode_fires_nothing(clean_codes):
    assert clean_codes == {}


AUDIO_DEFECTS = [
    ("noise", "AUDIO_NOISE_FLOOR"),
    ("pause", "AUDIO_LONG_SILENCE"),
    ("lead", "AUDIO_LEADING_SILENCE"),
    ("quiet", "AUDIO_PEAK_LEVEL"),
    ("clipped", "AUDIO_PEAK_LEVEL"),
    ("rate44k", "AUDIO_SAMPLE_RATE"),
]
TIMING_DEFECTS = [
    ("declared30", "VIDEO_FPS_MISMATCH"),
    ("vfr", "VIDEO_VFR"),
    ("dropped", "VIDEO_DROPPED_FRAMES"),
    ("audio_late", "STREAM_START_MISMATCH"),
]
FACE_DEFECTS = [
    ("no_face", "FACE_NONE"),
    ("two_faces", "FACE_MULTIPLE"),
    ("chin_cut", "FACE_CHIN_CUT"),
    ("forehead_cut", "FACE_FOREHEAD_CUT"),
    ("tiny_face", "FACE_TOO_SMALL"),
    ("tiny_frame", "FACE_TOO_SMALL"),
]
# Codes proven only on built face tracks: no corpus clip turns its head for long, and warping a frontal
# picture does not make Face Mesh read a turn (its nose offset tops out near 0.2 eye distances).
BUILT_TRACK_ONLY = {"FACE_NOT_FRONTAL"}


def test_every_diagnostic_fires_on_a_real_picture_and_stays_quiet_on_a_clean_one(clean_codes):
    """Each code the module can emit has an injected-defect clip where it must fire; the clean re-encode
    (``test_clean_reencode_fires_nothing``) is where all of them must not."""
    emitted = set(re.findall(r'Diagnostic\(\s*"([A-Z_]+)"', Path(dg.__file__).read_text()))
    injected = {code for _, code in AUDIO_DEFECTS + TIMING_DEFECTS + FACE_DEFECTS}
    assert emitted == injected | BUILT_TRACK_ONLY
    assert not emitted & clean_codes.keys()


@pytest.mark.parametrize(("defect", "code"), AUDIO_DEFECTS)
def test_audio_defect_fires(corpus, source, media_dir, clean_codes, defect, code):
    audio, rate = source.audio, source.rate
    if defect == "noise":
        audio = with_noise(audio, -30.0)
    elif defect == "pause":
        audio = with_silence(audio, rate, 1.0, 1.5)
    elif defect == "lead":
        audio = with_silence(audio, rate, 0.0, 0.5)
    elif defect == "quiet":
        audio = db_gain(audio, -20.0)
    elif defect == "clipped":
        audio = np.clip(db_gain(audio, 16.0), -1.0, 1.0)
    elif defect == "rate44k":
        audio, rate = decode_audio(corpus / SOURCE_CLIP, 44100).samples[44100:3 * 44100], 44100
    path = write_clip(media_dir / f"{defect}.mp4", source.frames, fps=source.fps, audio=audio, rate=rate)
    codes = run_diagnose(path)
    assert code in codes and code not in clean_codes
    assert set(codes) <= {code} | ({"AUDIO_LONG_SILENCE"} if defect == "lead" else set()), codes
    if defect == "rate44k":
        assert run_diagnose(path, project_rate=44100) == {}
    if defect == "lead":
        assert codes[code].value == pytest.approx(0.5, abs=0.06)


def test_leading_silence_is_not_a_pause(source):
    """A silence at the very start is reported once, as leading silence, not again as a long pause."""
    track = AudioTrack(with_silence(source.audio, source.rate, 0.0, 1.5), source.rate, 0.0, source.rate, 1, -9.0)
    assert dg.check_leading_silence(track) is not None
    assert dg.check_long_silence(track) is None


@pytest.mark.parametrize(("defect", "code"), TIMING_DEFECTS)
def test_timing_defect_fires(source, media_dir, clean_codes, defect, code):
    frames, n = source.frames, len(source.frames)
    times, suffix, extra = None, "mp4", {}
    if defect == "declared30":
        suffix, extra = "mkv", {"declared_fps": 30.0}  # Matroska keeps the codec's declared rate
    elif defect == "vfr":
        times = np.cumsum([0.0] + [0.03 if i % 2 else 0.05 for i in range(n - 1)])
    elif defect == "dropped":
        times = [i / source.fps for i in range(n + 3) if i not in (10, 20, 30)]
    elif defect == "audio_late":
        extra = {"audio_start_s": 0.1}
    path = write_clip(media_dir / f"{defect}.{suffix}", frames, times, fps=source.fps, audio=source.audio,
                      **extra)
    codes = run_diagnose(path)
    assert code in codes and code not in clean_codes
    assert not FACE_CODES & codes.keys()
    if defect == "declared30":
        assert set(codes) == {"VIDEO_FPS_MISMATCH"}
        assert codes[code].value == pytest.approx(25.0, abs=0.01)
        assert "picks the standard rate nearest" in codes[code].fix  # no gaps to fill: conform to the real timing
    if defect == "dropped":
        assert codes[code].value == 3
    if defect == "audio_late":
        # Audio starting later is audio early where start times are ignored; AAC priming takes 21 ms off.
        assert codes[code].value == pytest.approx(-(100.0 - 1024 / 48), abs=2.0)


@pytest.mark.parametrize(("defect", "code"), FACE_DEFECTS)
def test_face_defect_fires(source, media_dir, clean_codes, defect, code):
    edit = {
        "no_face": blank,
        "two_faces": side_by_side,
        "chin_cut": lambda f: crop(f, 0.0, 0.72),
        "forehead_cut": lambda f: crop(f, 0.38, 1.0),
        "tiny_face": lambda f: shrink(f, 0.3),
        "tiny_frame": lambda f: cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA),
    }[defect]
    path = write_clip(media_dir / f"{defect}.mp4", [edit(f) for f in source.frames], fps=source.fps,
                      audio=source.audio)
    codes = run_diagnose(path)
    assert code in codes and code not in clean_codes
    assert set(codes) & FACE_CODES == {code}, codes
    if defect == "no_face":
        assert codes[code].severity == "error" and codes[code].value == 0.0


# ---------------------------------------------------------------- face checks on built tracks

def test_face_found_severity():
    n = 100
    assert dg.check_face_found(face_track()) is None
    assert dg.check_face_found(face_track(np.arange(n) >= 5)) is None  # 5 % missing: blinks and blur
    partial = dg.check_face_found(face_track(np.arange(n) >= 30))
    assert (partial.severity, partial.value, partial.threshold) == ("warning", 0.7, dg.FACE_FOUND_WARN)
    none = dg.check_face_found(face_track(np.arange(n) >= 60))
    assert (none.severity, none.value) == ("error", 0.4)


def test_multiple_faces_needs_a_notable_share():
    counts = np.ones(100, np.int16)
    counts[:10] = 2  # a passer-by for 10 % of the clip
    assert dg.check_multiple_faces(face_track(counts=counts)) is None
    counts[:40] = 2
    fired = dg.check_multiple_faces(face_track(counts=counts))
    assert fired.value == 0.4 and "2 faces" in fired.message
    uncounted = np.full(100, -1, np.int16)
    assert dg.check_multiple_faces(face_track(counts=uncounted)) is None


def test_cut_checks_on_built_tracks():
    assert dg.check_chin_cut(face_track(box=(0.3, 0.1, 0.7, 1.08))).value == 1.0
    assert dg.check_chin_cut(face_track(box=(0.3, 0.1, 0.7, 0.99))) is None
    assert dg.check_forehead_cut(face_track(box=(0.3, -0.05, 0.7, 0.9))).value == 1.0
    assert dg.check_forehead_cut(face_track(box=(0.3, 0.01, 0.7, 0.9))) is None
    assert dg.check_chin_cut(face_track(np.zeros(50, bool))) is None  # nothing to judge without a face


def test_face_size_threshold():
    assert dg.check_face_size(face_track(eye_px=dg.MIN_EYE_DISTANCE_PX - 1)).code == "FACE_TOO_SMALL"
    assert dg.check_face_size(face_track(eye_px=dg.MIN_EYE_DISTANCE_PX)) is None


def test_not_frontal_needs_a_continuous_stretch():
    n, fps = 250, 25.0
    yaw = np.zeros(n)
    yaw[50:100] = 0.5  # 2.0 s turned: at the limit
    assert dg.check_frontal(face_track(np.ones(n, bool), fps=fps, yaw=yaw)) is None
    yaw[150::2] = -0.6  # every other frame turned: short stretches do not add up
    assert dg.check_frontal(face_track(np.ones(n, bool), fps=fps, yaw=yaw)) is None
    yaw = np.zeros(n)
    yaw[100:180] = -0.45  # 3.2 s turned
    fired = dg.check_frontal(face_track(np.ones(n, bool), fps=fps, yaw=yaw))
    assert fired.code == "FACE_NOT_FRONTAL" and fired.value == pytest.approx(3.2)
    found = np.ones(n, bool)
    found[140] = False  # the face lost mid-turn splits the stretch in two of 1.6 s
    assert dg.check_frontal(face_track(found, fps=fps, yaw=yaw)) is None


# ---------------------------------------------------------------- the whole set

def test_diagnose_orders_by_severity_and_validates(corpus):
    path = corpus / "real" / "videoretalking__1.mp4"
    media, audio = probe(path), decode_audio(path, 16000)
    found = np.arange(135) >= 100  # faces in a quarter of the frames: an error
    diagnostics = dg.diagnose(media, audio, face_track(found))
    codes = [d.code for d in diagnostics]
    assert codes[0] == "FACE_NONE"
    assert {"VIDEO_FPS_MISMATCH", "VIDEO_VFR", "VIDEO_DROPPED_FRAMES", "STREAM_START_MISMATCH",
            "AUDIO_SAMPLE_RATE", "AUDIO_LONG_SILENCE"} <= set(codes)
    ranks = [{"error": 0, "warning": 1, "info": 2}[d.severity] for d in diagnostics]
    assert ranks == sorted(ranks)
    assert all(d.fix and d.message for d in diagnostics)
    with pytest.raises(ValueError, match="project sample rate"):
        dg.diagnose(media, audio, face_track(), project_rate=0)
