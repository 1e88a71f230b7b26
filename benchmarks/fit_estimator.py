"""Fit the estimator's shipped numbers on the whole corpus and write core/estimate/fitted_model.json.

    .venv/bin/python benchmarks/fit_estimator.py [--corpus ../shared/corpus] [--cache DIR]

The cross-speaker model is fitted on every clip with a known offset (benchmarks/reference_offsets.json);
the confidence is calibrated on evidence from inner grouped folds, so it describes clips the model has
not seen (see benchmarks/crossval.py). ``benchmarks/estimator.py`` scores exactly this procedure on
held-out clips; run it to see what these numbers are worth.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from crossval import (
    DEFAULT_CACHE,
    DEFAULT_CORPUS,
    fit_estimator,
    load_clips,
    mismatched_cases,
    speaker_training_moments,
    true_cases,
)

from core.estimate.fitted import FITTED_MODEL_PATH


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where face tracks are cached")
    parser.add_argument("-o", "--output", type=Path, default=FITTED_MODEL_PATH)
    args = parser.parse_args()
    clips = load_clips(args.corpus, args.cache)
    moments = {c.name: speaker_training_moments(c) for c in clips}
    cases = true_cases(clips) + mismatched_cases(clips, clips)
    model, _ = fit_estimator(clips, moments, cases)
    model.provenance["fitted_on"] = "../shared/corpus (every clip; see benchmarks/reference_offsets.json)"
    args.output.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    calibration = model.calibration
    print(f"wrote {args.output}: {len(model.speaker.mouth_weights)} mouth weights, "
          f"{model.speaker.sound_weights.size} sound weights, calibration {calibration.to_dict()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
