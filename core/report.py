"""The last stage: the fix a measurement implies, and the report as a readable table."""

from __future__ import annotations

from core.model import Coverage, Fix, Report, SyncResult

__all__ = ["fix_from_sync", "format_summary"]


def fix_from_sync(sync: SyncResult, fps: float) -> Fix:
    """The slip and speed change that cancel a measured offset and drift (:meth:`SyncResult.correction`).

    The slip is the opposite of the offset (audio late by 80 ms: slip it 80 ms earlier, ``-80``). Nothing is
    proposed when the correction is not needed (in sync) or there is none (inconclusive).
    """
    correction = sync.correction()
    if correction is None or not correction.needed:
        return Fix.none()
    frame_ms = 1000.0 / fps
    slip_ms = -correction.offset_ms
    return Fix(slip_ms=round(slip_ms, 2), slip_frames=round(slip_ms / frame_ms, 3),
               speed_ratio=round(correction.speed_ratio, 9))


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _readings(opinions: dict) -> str:
    """What each independent reading said, in one line."""
    parts = [f"mouth-to-sound model {_fmt(opinions.get('speaker_model_ms'), ' ms')}",
             f"the clip's own correlation {_fmt(opinions.get('own_correlation_ms'), ' ms')}"]
    if opinions.get("lip_releases_ms") is not None:
        firm = "firm" if opinions.get("lip_releases_firm") else "too few to be firm"
        parts.append(f"lip releases {opinions['lip_releases_ms']:.1f} ms "
                     f"({opinions['lip_release_events']} events, {firm})")
    return "; ".join(parts) + f"; searched ±{opinions.get('search_ms', 0) / 1000:.1f} s"


def _timecode(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{rest:06.3f}"


def _turned(rotation: int) -> str:
    return f" shown turned {rotation}° counter-clockwise" if rotation else ""


def _coverage(coverage: Coverage) -> str:
    if coverage.mode == "full":
        return f"every frame ({coverage.used_s:.1f} s)"
    return (f"{coverage.used_s:.0f} s of {coverage.duration_s:.0f} s ({coverage.share:.0%}) in {len(coverage.windows)} "
            "windows spread over the file, until the answer was sure enough (--full reads every frame)")


def format_summary(report: Report) -> str:
    """A short human-readable table of one report (what ``lipalign analyze`` prints)."""
    m, s, f = report.media, report.sync, report.fix
    fps_text = f"{_fmt(m.fps_declared, digits=3)} declared, {_fmt(m.fps_measured, digits=3)} measured"
    if m.vfr:
        fps_text += " (variable)"
    rows = [
        ("file", report.file),
        ("video", f"{m.video_codec} {m.width}x{m.height}{_turned(m.rotation)}, {fps_text}, "
                  f"starts {_fmt(m.video_start_s, ' s', 3)}"),
        ("audio", f"{m.audio_codec} {m.sample_rate} Hz, {m.channels} ch, starts {_fmt(m.audio_start_s, ' s', 3)}"),
        ("duration", _fmt(m.duration_s, " s", 2)),
        ("verdict", s.verdict + (f" ({s.reason})" if s.reason else "")),
        ("offset", f"{_fmt(s.offset_ms, ' ms')} ({_fmt(s.offset_frames, ' frames', 2)}); "
                   "positive = audio late"),
        ("drift", _fmt(s.drift_ms_per_min, " ms/min", 1)),
        ("confidence", f"{s.confidence:.2f} (tolerance {s.tolerance})"),
        ("fix", f"slip audio {f.slip_ms:+.1f} ms ({f.slip_frames:+.2f} frames), speed x{f.speed_ratio:.6f}"),
    ]
    if report.coverage is not None:
        rows.append(("read", _coverage(report.coverage)))
    if s.face:
        rows.append(("face", f"{s.face['why']}; box {s.face['box']}"))
    if s.opinions:
        rows.append(("readings", _readings(s.opinions)))
    for k, moment in enumerate(s.moments):
        rows.append(("check by eye" if k == 0 else "", f"{_timecode(moment['time_s'])}  {moment['event']}: "
                                                      f"{moment['offset_ms']:+.0f} ms"))
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if report.diagnostics:
        lines.append("diagnostics:")
        for d in report.diagnostics:
            lines.append(f"  [{d.severity:<7}] {d.code}: {d.message}")
            lines.append(f"             fix: {d.fix}")
    else:
        lines.append("diagnostics: none fired")
    return "\n".join(lines)
