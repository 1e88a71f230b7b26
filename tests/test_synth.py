"""The synthetic talking head: the face is found, the mouth follows the drawing, the truth is real and readable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from core.cli import main
from core.commands.demo import verdict_line
from core.decode import decode_audio, iter_video_frames
from core.errors import MediaError
from core.face import track_face
from core.model import SyncResult
from core.probe import probe
from core.synth import (
    TRUTH_SUFFIX,
    SynthTruth,
    mouth_opening,
    plan_for,
    read_truth,
    speech_envelope,
    synthesize,
)

ENVELOPE_RATE = 1000  # Hz: a 1 ms grid for the envelope comparison


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, SynthTruth]]:
    """Two clips at the frame rates editors meet most: 25 fps AAC in .mp4 and 29.97 fps PCM in .mov."""
    folder = tmp_path_factory.mktemp("synth")
    made = {}
    for name, settings in {
        "pal": dict(offset_ms=120.0, fps="25", sample_rate=48000, seed=1),
        "ntsc": dict(offset_ms=-83.4, fps="29.97", sample_rate=44100, seed=2),
    }.items():
        path = folder / (f"{name}.mp4" if name == "pal" else f"{name}.mov")
        made[name] = (path, synthesize(path, duration_s=6.0, **settings))
    return made


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthTruth]:
    path = tmp_path_factory.mktemp("drift") / "drift.mp4"
    return path, synthesize(path, offset_ms=50.0, drift_ms_per_min=-240.0, sample_rate=16000, duration_s=8.0, seed=3)


def audio_lag_ms(path: Path, truth: SynthTruth, start_s: float, end_s: float) -> tuple[float, float]:
    """Lag (ms, positive = audio later) of the clip's decoded sound against the generator's own speech envelope.

    The decoded envelope (10 ms RMS on a 1 ms grid) is correlated with the plan's envelope at every lag
    within ±400 ms over the window, and the best lag refined with a parabola. Also returns the window's
    loudness-weighted centre (s): under drift the lag is the offset there, not at the window's middle.
    """
    audio = decode_audio(path, 16000)
    hop = audio.rate // ENVELOPE_RATE
    power = np.convolve(audio.samples.astype(np.float64) ** 2, np.ones(10 * hop) / (10 * hop), "same")
    measured = np.sqrt(power[::hop])
    t = audio.start_s + np.arange(measured.size) / ENVELOPE_RATE
    known = speech_envelope(plan_for(truth), np.arange(-0.5, truth.duration_s + 0.5, 1 / ENVELOPE_RATE))
    inside = np.flatnonzero((t >= start_s) & (t < end_s))
    lags = np.arange(-400, 401)
    scores = np.array([np.corrcoef(measured[inside], known[inside + 500 - lag])[0, 1] for lag in lags])
    best = int(np.argmax(scores))
    assert 0 < best < lags.size - 1 and scores[best] > 0.9, "the sound does not follow the speech plan"
    before, peak, after = scores[best - 1:best + 2]
    centre_s = float(np.average(t[inside], weights=measured[inside] ** 2))
    return float(lags[best] + 0.5 * (before - after) / (before - 2 * peak + after)), centre_s


def picture_lag_ms(face, truth: SynthTruth) -> float:
    """Lag (ms, positive = the tracked mouth later) of Face Mesh's inner-lip aperture against the drawn opening.

    Both are read at the frames' presentation times and interpolated to a 1 ms grid, so a mouth drawn
    for another instant of the frame interval (its middle, say) or a tracker that lags shows up here.
    """
    grid = np.arange(0.5, truth.duration_s - 0.5, 1 / ENVELOPE_RATE)
    drawn = np.interp(grid, face.time_s, mouth_opening(plan_for(truth), face.time_s))
    measured = np.interp(grid, face.time_s, face.mouth[:, 0])
    drawn, measured = (x - x.mean() for x in (drawn, measured))
    lags = np.arange(-60, 61)
    n = grid.size
    scores = np.array([np.dot(drawn[max(0, -k):n - max(0, k)], measured[max(0, k):n - max(0, -k)])
                       / (n - abs(k)) for k in lags])
    best = int(np.argmax(scores))
    assert 0 < best < lags.size - 1
    before, peak, after = scores[best - 1:best + 2]
    return float(lags[best] + 0.5 * (before - after) / (before - 2 * peak + after))


@pytest.mark.parametrize("name", ["pal", "ntsc"])
def test_face_found_in_every_frame_and_mouth_follows_the_drawing(clips, name):
    path, truth = clips[name]
    face = track_face(iter_video_frames(path), (truth.width, truth.height))
    assert face.time_s.size == truth.frame_count
    assert face.found.all(), f"no face in frames {np.flatnonzero(~face.found)[:10]}"
    drawn = mouth_opening(plan_for(truth), face.time_s)
    assert drawn.max() > 0.8 and drawn.min() < 0.05  # the clip really opens and closes the mouth
    r = np.corrcoef(drawn, face.mouth[:, 0])[0, 1]
    assert r > 0.8, f"measured inner-lip aperture follows the drawn opening with r = {r:.3f}"
    # The picture half of the truth: the mouth seen in a frame is the one planned for its presentation time
    # (the sound half is test_audio_offset_is_applied_to_the_sample). Together they make an unshifted clip
    # in sync to a few ms, whatever an estimator reads on it.
    assert picture_lag_ms(face, truth) == pytest.approx(0.0, abs=3.0)


def test_mpeg4_fallback_when_ffmpeg_lacks_libx264(tmp_path, monkeypatch):
    monkeypatch.setattr("core.synth.video_encoder", lambda: "mpeg4")
    path = tmp_path / "fallback.mp4"
    truth = synthesize(path, duration_s=2.0, seed=4)
    assert truth.video_codec == "mpeg4" and probe(path).video_codec == "mpeg4"
    face = track_face(iter_video_frames(path), (truth.width, truth.height))
    assert face.found.all()
    assert np.corrcoef(mouth_opening(plan_for(truth), face.time_s), face.mouth[:, 0])[0, 1] > 0.8


def test_truth_is_readable_from_sidecar_and_from_metadata(clips, tmp_path):
    path, truth = clips["pal"]
    assert read_truth(path, "sidecar") == truth
    assert read_truth(path, "metadata") == truth
    assert json.loads(Path(f"{path}{TRUTH_SUFFIX}").read_text())["offset_ms"] == 120.0
    moved = tmp_path / "no-sidecar.mp4"
    shutil.copy(path, moved)
    assert read_truth(moved) == truth  # the metadata alone is enough
    with pytest.raises(MediaError, match=r"no-sidecar\.mp4\.truth\.json"):
        read_truth(moved, "sidecar")
    Path(f"{moved}{TRUTH_SUFFIX}").write_text('{"generator": "something else"}')
    with pytest.raises(MediaError, match="not a valid truth record"):
        read_truth(moved)


def test_clip_without_truth_is_refused(tmp_path):
    plain = tmp_path / "plain.mp4"
    with av.open(str(plain), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError, match="not a synthetic clip"):
        read_truth(plain)


@pytest.mark.parametrize("name", ["pal", "ntsc"])
def test_audio_offset_is_applied_to_the_sample(clips, name):
    path, truth = clips[name]
    assert audio_lag_ms(path, truth, 0.0, truth.duration_s)[0] == pytest.approx(truth.offset_ms, abs=1.0)


def test_drift_is_applied(drifting):
    path, truth = drifting
    early, early_s = audio_lag_ms(path, truth, 0.0, 3.0)
    late, late_s = audio_lag_ms(path, truth, 5.0, 8.0)
    assert early == pytest.approx(truth.offset_at(early_s), abs=1.0)  # about 44 ms
    assert late == pytest.approx(truth.offset_at(late_s), abs=1.0)  # about 24 ms
    assert (late - early) / (late_s - early_s) * 60 == pytest.approx(truth.drift_ms_per_min, rel=0.1)


@pytest.mark.parametrize("name", ["pal", "ntsc"])
def test_probe_sees_the_requested_rates(clips, name):
    path, truth = clips[name]
    media = probe(path)
    assert media.fps_declared == pytest.approx(truth.fps_float, rel=1e-9)
    assert media.fps_measured == pytest.approx(truth.fps_float, rel=1e-6)
    assert not media.vfr and media.dropped_frames == 0
    assert media.sample_rate == truth.sample_rate and media.channels == 1
    assert media.video_codec == "h264" and media.audio_codec == truth.audio_codec
    assert media.frame_count == truth.frame_count
    assert media.video_start_s == 0.0 and media.audio_start_s == 0.0
    audio = decode_audio(path, None)
    # Sound and picture end together, give or take the encoder's last 1024-sample block.
    assert abs(audio.duration_s - truth.frame_count / truth.fps_float) < 1024 / truth.sample_rate + 0.002


@pytest.mark.parametrize("arguments", [
    ["clip.avi"],
    ["clip.mp4", "--fps", "fast"],
    ["clip.mp4", "--sample-rate", "12345"],
    ["clip.mp4", "--duration", "0"],
    ["missing-folder/clip.mp4"],
])
def test_synth_command_refuses_bad_settings_in_one_line(arguments, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["synth", *arguments]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lipalign: ") and "\n" not in err
    assert not list(tmp_path.rglob("*.mp4")) and not list(tmp_path.rglob("*.avi"))


def test_synth_command_writes_clip_and_truth(tmp_path, capsys):
    out = tmp_path / "cli.mov"
    assert main(["synth", str(out), "--offset-ms", "-40", "--fps", "50", "--sample-rate", "16000",
                 "--duration", "1.5", "--seed", "9"]) == 0
    truth = read_truth(out, "metadata")
    assert (truth.offset_ms, truth.fps, truth.sample_rate, truth.duration_s, truth.seed) == (-40.0, "50", 16000, 1.5, 9)
    assert truth.audio_codec == "pcm_s16le" and probe(out).frame_count == 75
    assert "truth in" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli.mov", f"cli.mov{TRUTH_SUFFIX}"]  # no temporaries left


def test_demo_measures_the_known_offset(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "true offset +120.0 ms, measured +" in out, out
    assert code == 0, out
    assert read_truth(tmp_path / "lipalign-demo.mp4").offset_ms == 120.0


def test_demo_verdict_is_honest_about_misses_and_inconclusive_results(clips):
    _, truth = clips["pal"]  # +120 ms at 25 fps: one frame is 40 ms

    def measured(offset_ms: float) -> SyncResult:
        return SyncResult("offset", offset_ms, offset_ms / 40.0, 0.0, 0.9)

    line, within = verdict_line(truth, measured(150.0))
    assert within and line == "true offset +120.0 ms, measured +150.0 ms (error +30.0 ms, +0.75 frames)"
    assert not verdict_line(truth, measured(161.0))[1]
    assert not verdict_line(truth, measured(-120.0))[1]
    line, within = verdict_line(truth, SyncResult.inconclusive("too little speech"))
    assert not within and "inconclusive (too little speech)" in line and "measured +" not in line
