"""The estimator on clips it has never seen: grouped cross-validation on ../shared/corpus (issue 11).

    .venv/bin/python benchmarks/estimator.py [--outer-folds K] [--corpus DIR] [--cache DIR] [--json OUT]
                                             [--reading both|full|progressive]

Each group of real clips (a speaker; see benchmarks/crossval.py) is held out in turn (or the groups are
dealt into K folds); the whole fitting procedure of benchmarks/fit_estimator.py runs on every other clip,
real and generated, and the held-out clips are scored:

- true cases: each clip's own audio shifted by known amounts, right when within one frame of the clip's
  best-known offset plus the shift (benchmarks/reference_offsets.json; where a clip's offset is unknown,
  of the median of what was read on its shifted copies less the shifts);
- other clips' audio under each picture (every other group's), where any answer is wrong;
- GRID studio clips, which are in sync;
- drift: each clip of 4.5 s or more looped to at least 45 s, its audio resampled by an exact ratio
  (±60 ms/min, and the 1000/1001 pair), and unresampled for false drift (see drift_table for what is
  right).

Every case is scored both ways (``--reading both``, the default): reading every frame, and reading the way
``lipalign analyze`` does by default, progressively (clips of 40 s or more in windows until the answer is sure
enough, replayed from the cached tracks by :func:`core.progressive.replayed_windows`); a last table puts the
two side by side, with the share of frames progressive reading used.

Only held-out figures are printed. The face tracks are cached (--cache), so a second run costs the
estimation only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from crossval import (
    DEFAULT_CACHE,
    DEFAULT_CORPUS,
    GENUINE_SHARE,
    SETTINGS,
    Case,
    Clip,
    fit_estimator,
    fold_of,
    load_clips,
    mismatched_cases,
    own_audio_case,
    speaker_training_moments,
    true_cases,
)
from tracks import looped

from core.estimate.fitted import FittedModel
from core.estimate.sync import choose_face, estimate_excerpts
from core.model import SyncResult
from core.progressive import PROGRESSIVE_MIN_S, measure_progressively, plan_windows, replayed_windows, speech_per_second
from core.tolerance import Tolerance, parse_tolerance

DRIFTS_MS_PER_MIN = (60.0, -60.0, 60000.0 * (1001 / 1000 - 1), 60000.0 * (1000 / 1001 - 1))
LONG_S = 45.0
MIN_LOOPED_S = 4.5
DRIFT_TOLERANCE_MS_PER_MIN = 10.0
# Shifts within the estimator's first search range (±1 s); larger ones need the widened search.
FIRST_RANGE_SHIFT_MS = 600.0
DURATION_BINS = ((0.0, 5.0, "under 5 s"), (5.0, 15.0, "5 to 15 s"), (15.0, np.inf, "over 15 s"),
                 (8.0, np.inf, "8 s or more"), (0.0, np.inf, "all"))


@dataclass
class Scored:
    """One held-out case's result."""

    case: Case
    result: SyncResult
    right: bool = False
    read_share: float = 1.0

    @property
    def answered(self) -> bool:
        return self.result.verdict != "inconclusive"


def score(cases: list[Case], model: FittedModel, progressive: bool = False) -> list[Scored]:
    """Each case's result with ``model``: every frame read, or (``progressive``) read as ``lipalign analyze`` does."""
    out = []
    for case in cases:
        if progressive and case.picture.duration_s >= PROGRESSIVE_MIN_S:
            out.append(read_progressively(case, model))
            continue
        results = [inputs.estimate(model) for inputs in case.inputs]
        out.append(Scored(case, choose_face(results, case.picture.faces)[0]))
    return out


def read_progressively(case: Case, model: FittedModel) -> Scored:
    """The case read in windows until sure enough, replayed from its tracks; with the share of frames read."""
    (excerpt,) = case.inputs[0].excerpts
    audio, duration_s, fps = excerpt.audio, case.picture.duration_s, case.picture.fps
    reach_s = max(SETTINGS.search_ranges()) / 1000.0
    outcome = measure_progressively(
        plan_windows(speech_per_second(audio, duration_s), duration_s),
        replayed_windows([i.excerpts[0].face for i in case.inputs], audio, reach_s),
        lambda faces: estimate_excerpts(faces, fps=fps, settings=SETTINGS, model=model),
        span=(0.0, duration_s), fps=fps)
    return Scored(case, outcome.result, read_share=sum(w.duration_s for w in outcome.windows) / duration_s)


def mark_scored(scored: list[Scored]) -> None:
    """Right: within one frame of the clip's truth plus the shift (see the module docstring)."""
    consensus: dict[str, float] = {}
    for s in scored:
        clip = s.case.picture
        if not s.case.mismatched and clip.reference_ms is None and clip.name not in consensus:
            own = [t for t in scored if t.case.picture is clip and not t.case.mismatched
                   and t.result.offset_ms is not None]
            consensus[clip.name] = float(np.median([t.result.offset_ms - t.case.shift_ms for t in own])) \
                if own else np.nan
    for s in scored:
        clip = s.case.picture
        truth = clip.reference_ms if clip.reference_ms is not None else consensus.get(clip.name)
        s.right = (not s.case.mismatched and s.result.offset_ms is not None and truth is not None
                   and abs(s.result.offset_ms - truth - s.case.shift_ms) <= clip.frame_ms)


def looped_duration_s(clip: Clip) -> float:
    """How long the clip runs once looped to at least LONG_S."""
    return clip.duration_s * max(1, int(np.ceil(LONG_S / clip.duration_s)))


def drift_cases(clip: Clip) -> list[tuple[float, Case]]:
    """The clip looped to at least LONG_S (one speaker, one offset, no drift), with each drift applied."""
    times = int(np.ceil(LONG_S / clip.duration_s))
    if times > 1:
        pairs = [looped(face, clip.audio, times) for face in clip.faces]
        clip = Clip(clip.name, clip.category, clip.group, clip.fps, [p[0] for p in pairs], pairs[0][1],
                    clip.reference_ms)
    return [(drift, own_audio_case(clip, 0.0, drift)) for drift in (0.0, *DRIFTS_MS_PER_MIN)]


def percent(values: list[bool] | np.ndarray) -> str:
    values = np.asarray(values, bool)
    return "  n/a " if values.size == 0 else f"{100 * values.mean():5.1f} % ({values.sum()}/{values.size})"


def summary_table(scored: list[Scored]) -> dict:
    print("\n## What a user gets, held out (grouped cross-validation)")
    print(f"   own audio shifted by up to ±{FIRST_RANGE_SHIFT_MS:.0f} ms; shifts beyond the first search range are "
          "counted on their own below")
    print(f"{'clips':12s} {'true answered':>22s} {'answers right':>22s} {'best guess right':>22s} "
          f"{'other audio answered':>24s}")
    figures = {}
    for lo, hi, label in DURATION_BINS:
        def inside(s: Scored, lo: float = lo, hi: float = hi) -> bool:
            return lo <= s.case.picture.duration_s < hi

        true = [s for s in scored if not s.case.mismatched and inside(s)
                and abs(s.case.shift_ms) <= FIRST_RANGE_SHIFT_MS]
        other = [s for s in scored if s.case.mismatched and inside(s)]
        answered = [s.answered for s in true]
        right_when_answered = [s.right for s in true if s.answered]
        best_guess = [s.right for s in true]
        other_answered = [s.answered for s in other]
        print(f"{label:12s} {percent(answered):>22s} {percent(right_when_answered):>22s} "
              f"{percent(best_guess):>22s} {percent(other_answered):>24s}")
        figures[label] = {"true_answered": float(np.mean(answered)) if answered else None,
                          "answers_right": float(np.mean(right_when_answered)) if right_when_answered else None,
                          "best_guess_right": float(np.mean(best_guess)) if best_guess else None,
                          "other_audio_answered": float(np.mean(other_answered)) if other_answered else None,
                          "true_cases": len(true), "other_audio_cases": len(other)}
    beyond = [s for s in scored if not s.case.mismatched and abs(s.case.shift_ms) > FIRST_RANGE_SHIFT_MS]
    print(f"{'beyond ±1 s':12s} {percent([s.answered for s in beyond]):>22s} "
          f"{percent([s.right for s in beyond if s.answered]):>22s} {percent([s.right for s in beyond]):>22s}")
    figures["beyond_first_range"] = {"true_answered": float(np.mean([s.answered for s in beyond])) if beyond else None,
                                     "best_guess_right": float(np.mean([s.right for s in beyond])) if beyond else None}
    return figures


def reliability_table(scored: list[Scored]) -> list[dict]:
    print("\n## Reliability of the stated confidence, held out, by decile")
    print("   genuine: each clip's own audio (shifted); with other audio: other clips' audio weighted to "
          f"{1 - GENUINE_SHARE:.0%} of the cases, as the calibration assumes")
    print(f"{'stated':>11s} {'genuine n':>10s} {'stated':>7s} {'right':>7s} {'all n':>7s} {'stated':>7s} {'right':>7s}")
    rows = []
    true = [s for s in scored if not s.case.mismatched]
    other = [s for s in scored if s.case.mismatched]
    for k in range(10):
        lo, hi = k / 10, (k + 1) / 10 if k < 9 else 1.0001

        def members(group: list[Scored], lo: float = lo, hi: float = hi) -> list[Scored]:
            return [s for s in group if lo <= s.result.confidence < hi]

        t, o = members(true), members(other)
        wt = GENUINE_SHARE / max(len(true), 1)
        wo = (1 - GENUINE_SHARE) / max(len(other), 1)
        weight = wt * len(t) + wo * len(o)
        row = {"decile": f"{lo:.1f}-{min(hi, 1.0):.1f}", "genuine_n": len(t),
               "genuine_stated": float(np.mean([s.result.confidence for s in t])) if t else None,
               "genuine_right": float(np.mean([s.right for s in t])) if t else None,
               "all_n": len(t) + len(o),
               "all_stated": (wt * sum(s.result.confidence for s in t) + wo * sum(s.result.confidence for s in o))
               / weight if weight else None,
               "all_right": wt * sum(s.right for s in t) / weight if weight else None}
        rows.append(row)

        def fmt(v: float | None) -> str:
            return "   -  " if v is None else f"{100 * v:6.1f}"

        print(f"{row['decile']:>11s} {row['genuine_n']:10d} {fmt(row['genuine_stated'])} {fmt(row['genuine_right'])} "
              f"{row['all_n']:7d} {fmt(row['all_stated'])} {fmt(row['all_right'])}")
    return rows


def clip_table(scored: list[Scored]) -> None:
    print("\n## Per clip, held out: own audio answered / right, other audio answered, the unshifted reading")
    for clip in sorted({s.case.picture.name for s in scored}):
        own = [s for s in scored if s.case.picture.name == clip and not s.case.mismatched]
        other = [s for s in scored if s.case.picture.name == clip and s.case.mismatched]
        base = next(s for s in own if s.case.shift_ms == 0.0)
        ref = own[0].case.picture.reference_ms
        print(f"{clip[-46:]:46s} {own[0].case.picture.duration_s:5.1f} s  "
              f"answered {np.mean([s.answered for s in own]):4.2f}"
              f"  right {np.mean([s.right for s in own]):4.2f}  other audio {np.mean([s.answered for s in other]):4.2f}"
              f"  reads {base.result.offset_ms!s:>7} ms (ref {ref!s:>6}) conf {base.result.confidence:.2f} "
              f"{base.result.verdict}{' [' + base.result.reason + ']' if base.result.reason else ''}")


def grid_table(scored: list[Scored]) -> dict:
    print("\n## GRID studio clips (in sync): answered and within one frame of 0")
    rows = {}
    for s in scored:
        if "lipnet__" in s.case.picture.name and not s.case.mismatched and s.case.shift_ms == 0.0:
            ok = s.answered and abs(s.result.offset_ms) <= s.case.picture.frame_ms
            rows[s.case.picture.name] = {"offset_ms": s.result.offset_ms, "confidence": s.result.confidence,
                                         "answered_within_1_frame": bool(ok)}
            print(f"{s.case.picture.name:28s} {s.result.offset_ms!s:>7} ms  confidence {s.result.confidence:.2f} "
                  f" {s.result.verdict:12s} {'yes' if ok else 'NO'}")
    print(f"GRID answered within one frame of 0: {sum(r['answered_within_1_frame'] for r in rows.values())} "
          f"of {len(rows)}")
    return rows


def expected_drift_verdict(clip: Clip, truth_ms: float | None, applied: float, tolerance: Tolerance) -> str:
    """``in_sync`` when the true offset stays within tolerance from start to end of the looped clip, else ``drift``."""
    if truth_ms is None:
        return "drift" if applied else "in_sync"
    end_ms = truth_ms + applied * looped_duration_s(clip) / 60.0
    return "in_sync" if tolerance.accepts(truth_ms, clip.fps) and tolerance.accepts(end_ms, clip.fps) else "drift"


def drift_table(drift_rows: list[tuple[Clip, float, SyncResult]]) -> dict:
    """Right: the reported drift within DRIFT_TOLERANCE_MS_PER_MIN of the applied one, and the verdict the
    truth calls for (a drift that keeps the clip within tolerance from start to end is ``in_sync``, with its
    drift reported). The truth offset is the clip's reference, or else its unresampled held-out reading.
    False drift: any drift reported on an unresampled clip."""
    print("\n## Drift, held out (clips looped to 45 s or more, audio resampled by an exact ratio)")
    unresampled = {clip.name: result.offset_ms for clip, applied, result in drift_rows if applied == 0.0}
    right, false_drift = [], []
    for clip, applied, result in drift_rows:
        measured = result.drift_ms_per_min or 0.0
        if applied == 0.0:
            false_drift.append(measured != 0.0)
            ok = measured == 0.0 and result.verdict != "inconclusive"
            expected = "no drift"
        else:
            truth = clip.reference_ms if clip.reference_ms is not None else unresampled.get(clip.name)
            expected = expected_drift_verdict(clip, truth, applied, parse_tolerance(result.tolerance))
            ok = result.verdict == expected and abs(measured - applied) <= DRIFT_TOLERANCE_MS_PER_MIN
            right.append(ok)
        print(f"{clip.name[-40:]:40s} applied {applied:+7.2f}  measured {measured:+7.2f} ms/min  "
              f"{result.verdict:12s} (truth: {expected:8s}) conf {result.confidence:.2f}  {'ok' if ok else 'MISSED'}")
    print(f"drift within {DRIFT_TOLERANCE_MS_PER_MIN:.0f} ms/min with the right verdict: {percent(right)}; "
          f"false drift on unresampled clips: {sum(false_drift)} of {len(false_drift)}")
    return {"drift_right": float(np.mean(right)) if right else None, "drift_cases": len(right),
            "false_drift": int(sum(false_drift)), "undrifted_cases": len(false_drift)}


def comparison_table(figures: dict, scored: dict[str, list[Scored]],
                     drift_rows: dict[str, list[tuple[Clip, float, Scored]]]) -> dict:
    """The headline figures reading every frame against reading progressively, and the frames progressive used."""
    print("\n## Every frame against progressive reading (held out; difference in points)")
    rows = {}
    measures = [("true answered, all", ("summary", "all", "true_answered")),
                ("true answered, 8 s or more", ("summary", "8 s or more", "true_answered")),
                ("answers right", ("summary", "all", "answers_right")),
                ("other audio answered", ("summary", "all", "other_audio_answered")),
                ("drift right", ("drift", "drift_right"))]
    for label, path in measures:
        values = []
        for reading in ("full", "progressive"):
            value = figures[reading]
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        diff = None if None in values else 100 * (values[1] - values[0])
        rows[label] = {"full": values[0], "progressive": values[1], "difference_points": diff}
        shown = [" n/a " if v is None else f"{100 * v:5.1f} %" for v in values]
        print(f"{label:28s} {shown[0]:>9s} {shown[1]:>9s}  {'' if diff is None else f'{diff:+.1f}'}")
    false_drift = [sum((s.result.drift_ms_per_min or 0.0) != 0.0 for _, a, s in drift_rows[r] if a == 0.0)
                   for r in ("full", "progressive")]
    print(f"{'false drift (count)':28s} {false_drift[0]:>9d} {false_drift[1]:>9d}")
    long_cases = [s for s in scored["progressive"] if s.case.picture.duration_s >= PROGRESSIVE_MIN_S]
    long_cases += [s for _, _, s in drift_rows["progressive"] if s.case.picture.duration_s >= PROGRESSIVE_MIN_S]
    share = float(np.mean([s.read_share for s in long_cases])) if long_cases else None
    print(f"progressive reading used {'n/a' if share is None else f'{100 * share:.1f} %'} of the frames of the "
          f"{len(long_cases)} cases of {PROGRESSIVE_MIN_S:.0f} s or more (shorter clips are read whole either way)")
    rows["false_drift"] = {"full": false_drift[0], "progressive": false_drift[1]}
    rows["progressive_frame_share"] = share
    rows["progressive_cases"] = len(long_cases)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where face tracks are cached")
    parser.add_argument("--outer-folds", type=int, default=0,
                        help="deal the real groups into K folds (default: hold out one group at a time)")
    parser.add_argument("--skip-drift", action="store_true")
    parser.add_argument("--reading", choices=("both", "full", "progressive"), default="both",
                        help="score reading every frame, reading progressively, or both (default)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    started = time.perf_counter()
    clips = load_clips(args.corpus, args.cache)
    real = [c for c in clips if c.category == "real"]
    moments = {c.name: speaker_training_moments(c) for c in clips}
    train_true = true_cases(clips)
    train_other = mismatched_cases(clips, clips)
    scored_other = [c for c in train_other if c.picture.category == "real"]
    drifts = {c.name: drift_cases(c) for c in real if not args.skip_drift and c.duration_s >= MIN_LOOPED_S}
    real_groups = sorted({c.group for c in real})
    folds = len(real_groups) if args.outer_folds <= 0 else args.outer_folds
    fold = {g: k for k, g in enumerate(real_groups)} if args.outer_folds <= 0 else fold_of(real_groups, folds)
    readings = ["full", "progressive"] if args.reading == "both" else [args.reading]
    scored: dict[str, list[Scored]] = {r: [] for r in readings}
    drift_rows: dict[str, list[tuple[Clip, float, Scored]]] = {r: [] for r in readings}
    for k in range(folds):
        held = {g for g, f in fold.items() if f == k}
        train = [c for c in clips if c.group not in held]
        cases = [c for c in train_true + train_other if c.picture.group not in held and c.sound.group not in held]
        model, _ = fit_estimator(train, moments, cases)
        test = [c for c in train_true if c.picture.group in held and c.picture.category == "real"]
        test += [c for c in scored_other if c.picture.group in held]
        for reading in readings:
            scored[reading].extend(score(test, model, reading == "progressive"))
            for clip in real:
                if clip.group in held:
                    for applied, case in drifts.get(clip.name, []):
                        drift_rows[reading].append((clip, applied, score([case], model, reading == "progressive")[0]))
        print(f"fold {k + 1}/{folds} ({', '.join(sorted(held))}): threshold {model.calibration.threshold:.3f} "
              f"[{time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
    figures: dict = {}
    for reading in readings:
        print(f"\n# Reading {'every frame' if reading == 'full' else 'progressively (as lipalign analyze does)'}")
        mark_scored(scored[reading])
        figures[reading] = {"summary": summary_table(scored[reading]),
                            "reliability": reliability_table(scored[reading]), "grid": grid_table(scored[reading])}
        clip_table(scored[reading])
        if drift_rows[reading]:
            figures[reading]["drift"] = drift_table([(c, a, s.result) for c, a, s in drift_rows[reading]])
    if len(readings) == 2:
        figures["comparison"] = comparison_table(figures, scored, drift_rows)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\n{len(scored[readings[0]])} held-out cases in {folds} folds, {figures['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
